/**
 * Reads an experiment file: YAML → zod → cross-checks (names resolve, node counts fit, partitions
 * exist on the nodes that use them). Every problem is reported as `FILE: field.path: expectation`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '../../core/errors.js';
import { experimentSchema, type Experiment } from './schema.js';
import { resolveNodesInclude } from './include.js';

export interface LoadedExperiment {
  spec: Experiment;
  file: string;
  /** sha256 of the file's bytes (provenance: `spec_hash`). */
  specHash: string;
  /** Directory relative paths in the file are resolved against. */
  dir: string;
  /** The file the nodes came from (`nodes: { include: FILE }`). */
  nodesFile?: string;
  /** The file lists `measure.perf.events` itself (else they are the default set, counted "where supported"). */
  perfEventsGiven?: boolean;
}

export class ExperimentError extends UserError {
}

export function loadExperiment(file: string): LoadedExperiment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ExperimentError(`cannot read experiment file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseExperiment(text, file);
}

/**
 * Parses an experiment's text. `allowInclude` (default true) lets `nodes: { include: FILE }` read a
 * file relative to `file`; experiments submitted over HTTP are parsed without it.
 */
export function parseExperiment(text: string, file: string, options: { allowInclude?: boolean } = {}): LoadedExperiment {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) throw new ExperimentError(`${file}: not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  const included = resolveNodesInclude(doc.toJS(), file, options.allowInclude ?? true);
  if ('problems' in included) throw new ExperimentError(`invalid experiment:\n  ${included.problems.map((p) => `${file}: ${p}`).join('\n  ')}`);
  const parsed = experimentSchema.safeParse(included.raw);
  if (!parsed.success) {
    const from = (path: readonly PropertyKey[]) => (included.file && path[0] === 'nodes' ? ` (from ${included.file})` : '');
    const lines = parsed.error.issues.map((i) => `${file}: ${formatPath(i.path) || '(top level)'}${from(i.path)}: ${i.message}`);
    throw new ExperimentError(`invalid experiment:\n  ${lines.join('\n  ')}`);
  }
  const spec = parsed.data;
  const problems = crossCheck(spec).map((p) => `${file}: ${p}`);
  if (problems.length) throw new ExperimentError(`invalid experiment:\n  ${problems.join('\n  ')}`);
  const dir = dirname(resolve(file));
  for (const n of spec.nodes) if (n.transport === 'ssh' && n.key && !isAbsolute(n.key)) n.key = resolve(dir, n.key.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
  const perfEventsGiven = Array.isArray((included.raw as { measure?: { perf?: { events?: unknown } } } | null)?.measure?.perf?.events);
  return { spec, file, specHash: createHash('sha256').update(text).digest('hex'), dir, ...(included.file ? { nodesFile: included.file } : {}), perfEventsGiven };
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function duplicates(names: string[]): string[] {
  return names.filter((n, i) => names.indexOf(n) !== i);
}

function crossCheck(spec: Experiment): string[] {
  const out: string[] = [];
  const nodeNames = spec.nodes.map((n) => n.name);
  const known = (list: string[] | undefined, where: string) =>
    (list ?? []).forEach((n, i) => { if (!nodeNames.includes(n)) out.push(`${where}[${i}]: unknown node "${n}" (nodes: ${nodeNames.join(', ')})`); });
  for (const d of duplicates(nodeNames)) out.push(`nodes: the node name "${d}" is used twice`);
  for (const d of duplicates(spec.stacks.map((s) => s.name))) out.push(`stacks: the stack name "${d}" is used twice`);
  spec.stacks.forEach((s, si) => {
    const names = s.partitions.map((p) => p.name);
    for (const d of duplicates(names)) out.push(`stacks[${si}].partitions: the partition name "${d}" is used twice`);
    s.partitions.forEach((p, pi) => {
      known(p.nodes, `stacks[${si}].partitions[${pi}].nodes`);
      if (p.parent && !names.includes(p.parent)) out.push(`stacks[${si}].partitions[${pi}].parent: no partition "${p.parent}" in stack "${s.name}"`);
    });
    const needs = [{ partition: spec.workload.partition, where: 'workload.partition' }, ...spec.background.map((b, i) => ({ partition: b.partition, where: `background[${i}].partition` }))];
    for (const n of needs) if (!names.includes(n.partition)) out.push(`${n.where}: stack "${s.name}" has no partition "${n.partition}" (it has ${names.join(', ')})`);
  });
  known(spec.workload.nodes, 'workload.nodes');
  spec.background.forEach((b, i) => known(b.nodes, `background[${i}].nodes`));
  const pool = spec.workload.nodes ?? nodeNames;
  spec.matrix.nodeCounts.forEach((c, i) => { if (c > pool.length) out.push(`matrix.nodeCounts[${i}]: ${c} nodes asked for, but the workload has ${pool.length} (${pool.join(', ')})`); });
  const stackNames = spec.stacks.map((s) => s.name);
  (spec.matrix.stacks ?? []).forEach((s, i) => { if (!stackNames.includes(s)) out.push(`matrix.stacks[${i}]: unknown stack "${s}" (stacks: ${stackNames.join(', ')})`); });
  if (spec.matrix.background.includes(true) && spec.background.length === 0) out.push('matrix.background: "true" needs at least one entry under `background`');
  return out;
}
