/**
 * Parameters of a catalog entry: typed checks of the values an experiment gives, then `{{name}}`
 * substitution inside argv words and input files. A value stays inside the word it is substituted
 * into (argv words are quoted as a whole by the transport), so shell metacharacters are inert.
 */
import type { ParameterValue } from '../experiment/schema.js';
import type { CatalogEntry } from './schema.js';

/** Checks and completes parameters (defaults); throws naming the entry, parameter and expectation. */
export function resolveParameters(entry: CatalogEntry, given: Record<string, ParameterValue>): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of Object.keys(given)) {
    if (!(name in entry.parameters)) problems.push(`unknown parameter "${name}" (${entry.name} takes ${Object.keys(entry.parameters).join(', ') || 'none'})`);
  }
  for (const [name, def] of Object.entries(entry.parameters)) {
    const v = given[name] ?? def.default;
    if (v === undefined) { problems.push(`parameter "${name}" is required (${def.description ?? def.type})`); continue; }
    const bad = (what: string) => problems.push(`parameter "${name}": expected ${what}, got ${JSON.stringify(v)}`);
    switch (def.type) {
      case 'integer':
      case 'number': {
        const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
        if (!Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n))) { bad(`an ${def.type}`); continue; }
        if (def.min !== undefined && n < def.min) { bad(`at least ${def.min}`); continue; }
        if (def.max !== undefined && n > def.max) { bad(`at most ${def.max}`); continue; }
        out[name] = String(n);
        break;
      }
      case 'boolean':
        if (typeof v !== 'boolean') { bad('true or false'); continue; }
        out[name] = String(v);
        break;
      case 'enum':
        if (!def.values?.includes(String(v))) { bad(`one of ${(def.values ?? []).join(', ')}`); continue; }
        out[name] = String(v);
        break;
      case 'string':
        if (typeof v !== 'string') { bad('a string'); continue; }
        if (def.pattern && !new RegExp(`^(?:${def.pattern})$`).test(v)) { bad(`a string matching /${def.pattern}/`); continue; }
        out[name] = v;
        break;
    }
  }
  if (problems.length) throw new Error(`workload ${entry.name}: ${problems.join('; ')}`);
  return out;
}

/** Substitutes `{{name}}`; throws on a placeholder with no value. */
export function fill(template: string, values: Record<string, string>, where: string): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${where}: "{{${name}}}" has no value (parameters: ${Object.keys(values).join(', ')})`);
    return v;
  });
}

/** Placeholders a template uses (for load-time checks). */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);
}
