/** The configuration reference of docs/CONFIG.md, generated from the schema (a test keeps it current). */
import { envFields } from './env.js';

export function configMarkdown(): string {
  const rows = envFields().map((f) => `| \`${f.path.join('.')}\` | \`${f.variable}\` | ${f.type} | ${f.description.replaceAll('|', '\\|')} |`);
  return ['| field (YAML path) | environment variable | type | meaning |', '|---|---|---|---|', ...rows, ''].join('\n');
}
