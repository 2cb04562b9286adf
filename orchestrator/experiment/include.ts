/**
 * `nodes: { include: FILE }`: the experiment's nodes come from another YAML file's `nodes:` list, such
 * as the inventory `isoscope testbed up` writes, so an experiment names its nodes once and runs on
 * whichever testbed is up. The path is relative to the experiment file; relative key paths in the
 * included file are relative to that file. Only files given by path are read (a submitted experiment
 * may not include, see `allowInclude`).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';

export interface Included {
  /** The raw experiment with `nodes` replaced by the included list. */
  raw: unknown;
  /** Absolute path of the included file, when there was one. */
  file?: string;
}

/** Replaces `nodes: { include }` by the included nodes; returns problems as `field: expectation` lines. */
export function resolveNodesInclude(raw: unknown, experimentFile: string, allowInclude: boolean): Included | { problems: string[] } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { raw };
  const nodes = (raw as { nodes?: unknown }).nodes;
  if (!nodes || typeof nodes !== 'object' || Array.isArray(nodes)) return { raw };
  const keys = Object.keys(nodes);
  const include = (nodes as { include?: unknown }).include;
  if (keys.length !== 1 || typeof include !== 'string' || !include) {
    return { problems: ['nodes: expected a list of nodes or `{ include: FILE }` (a YAML file with a `nodes:` list, e.g. the inventory of `isoscope testbed up`)'] };
  }
  if (!allowInclude) return { problems: ['nodes.include: not allowed here (a submitted experiment cannot read files on the orchestrator\'s machine); list the nodes'] };
  const file = isAbsolute(include) ? include : resolve(dirname(resolve(experimentFile)), include);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { problems: [`nodes.include: cannot read ${file} (${code})${code === 'ENOENT' && /inventory\.yaml$/.test(file) ? '; is the testbed up? (`isoscope testbed up`)' : ''}`] };
  }
  const doc = parseDocument(text);
  if (doc.errors.length) return { problems: [`nodes.include: ${file} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`] };
  const list = (doc.toJS() as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(list)) return { problems: [`nodes.include: ${file} has no \`nodes:\` list`] };
  const base = dirname(file);
  const resolved = list.map((n: unknown) => {
    if (!n || typeof n !== 'object') return n;
    const key = (n as { key?: unknown }).key;
    return typeof key === 'string' && !isAbsolute(key) && !key.startsWith('~') ? { ...n, key: resolve(base, key) } : n;
  });
  return { raw: { ...(raw as object), nodes: resolved }, file };
}
