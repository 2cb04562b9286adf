/**
 * The workload catalog: the entries shipped in orchestrator/catalog/*.yaml plus users' directories
 * (later directories override entries of the same name). Every file is validated; errors name the
 * file, the field path and what was expected.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { UserError } from '../../core/errors.js';
import { formatPath } from '../experiment/load.js';
import { catalogEntrySchema, type CatalogEntry } from './schema.js';
import { placeholders } from './template.js';

/** Placeholders every entry may use besides its parameters. */
export const BUILTIN_PLACEHOLDERS = ['nodes', 'node_count', 'ranks', 'run_dir', 'run', 'node'];

/** The shipped catalog directory (the YAML files live beside the sources, also when running from dist/). */
export function shippedCatalogDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  if (existsSync(join(here, 'hpcc.yaml'))) return here;
  return fileURLToPath(new URL('../../../orchestrator/catalog/', import.meta.url));
}

export class Catalog {
  constructor(readonly entries: ReadonlyMap<string, CatalogEntry & { file: string }>) {}

  get(name: string): CatalogEntry & { file: string } {
    const e = this.entries.get(name);
    if (!e) throw new UserError(`workload catalog has no entry "${name}" (entries: ${[...this.entries.keys()].sort().join(', ')})`);
    return e;
  }
}

export function loadCatalog(extraDirs: readonly string[] = []): Catalog {
  const entries = new Map<string, CatalogEntry & { file: string }>();
  for (const dir of [shippedCatalogDir(), ...extraDirs]) {
    if (!existsSync(dir)) throw new UserError(`catalog directory ${dir} does not exist`);
    for (const f of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = join(dir, f);
      const entry = parseCatalogEntry(readFileSync(file, 'utf8'), file);
      entries.set(entry.name, { ...entry, file });
    }
  }
  return new Catalog(entries);
}

export function parseCatalogEntry(text: string, file: string): CatalogEntry {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UserError(`${file}: not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  const parsed = catalogEntrySchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new UserError(`invalid catalog entry:\n  ${parsed.error.issues.map((i) => `${file}: ${formatPath(i.path) || '(top level)'}: ${i.message}`).join('\n  ')}`);
  }
  const entry = parsed.data;
  const known = new Set([...Object.keys(entry.parameters), ...BUILTIN_PLACEHOLDERS]);
  const templates: [string, string][] = [
    ...entry.command.map((w, i): [string, string] => [`command[${i}]`, w]),
    ...Object.entries(entry.env).map(([k, v]): [string, string] => [`env.${k}`, v]),
    ...Object.entries(entry.files).map(([k, v]): [string, string] => [`files.${k}`, v]),
    ...entry.launch.mpirunArgs.map((w, i): [string, string] => [`launch.mpirunArgs[${i}]`, w]),
    ...(entry.result?.metric ? [['result.metric', entry.result.metric] as [string, string]] : []),
    ...(entry.result?.file ? [['result.file', entry.result.file] as [string, string]] : []),
  ];
  const problems = templates.flatMap(([where, t]) => placeholders(t).filter((p) => !known.has(p)).map((p) => `${file}: ${where}: "{{${p}}}" is not a parameter of ${entry.name}`));
  if (problems.length) throw new UserError(`invalid catalog entry:\n  ${problems.join('\n  ')}`);
  return entry;
}
