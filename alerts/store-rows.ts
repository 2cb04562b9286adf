/** Reading samples back from the store (DuckDB or QuestDB) for baselines and replays. */
import type { QueryResult } from '../store/store.js';
import type { SampleView } from './rules/match.js';

const COLUMNS = ['ts', 'node', 'collector', 'source', 'metric', 'value', 'cpu', 'partition', 'run', 'cgroup', 'comm', 'irq', 'device', 'le'];
/** The sample columns a rule can look at; quoted, as `partition` is a keyword in QuestDB. */
export const SAMPLE_COLUMNS = COLUMNS.map((c) => `"${c}"`).join(', ');

/** A SQL string literal (both dialects double the quote). */
export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * An ISO-8601 timestamp as both stores return it (up to nanoseconds) → ns since the epoch.
 * @example isoToNs('2026-11-24T16:13:00.123456789Z') === 1795968780123456789n
 */
export function isoToNs(iso: string): bigint {
  const m = /^(.*?)(?:\.(\d{1,9}))?Z?$/.exec(iso.trim());
  const ms = Date.parse(`${m![1]}Z`);
  if (!Number.isFinite(ms)) throw new Error(`expected an ISO-8601 timestamp from the store, got ${JSON.stringify(iso)}`);
  return BigInt(ms) * 1_000_000n + BigInt((m![2] ?? '').padEnd(9, '0'));
}

/** Rows of `SELECT ${SAMPLE_COLUMNS}` → samples. */
export function rowsToSamples(res: QueryResult): SampleView[] {
  const at = (name: string) => res.columns.findIndex((c) => c.name === name);
  const idx = Object.fromEntries(COLUMNS.map((c) => [c, at(c)])) as Record<string, number>;
  const str = (r: unknown[], c: string) => (r[idx[c]!] == null ? null : String(r[idx[c]!]));
  return res.rows.map((r) => ({
    ts: typeof r[idx.ts!] === 'bigint' ? (r[idx.ts!] as bigint) : isoToNs(String(r[idx.ts!])),
    node: String(r[idx.node!]),
    collector: String(r[idx.collector!]),
    source: String(r[idx.source!]),
    metric: String(r[idx.metric!]),
    value: Number(r[idx.value!]),
    cpu: Number(r[idx.cpu!]),
    partition: str(r, 'partition'),
    run: str(r, 'run'),
    cgroup: str(r, 'cgroup'),
    comm: str(r, 'comm'),
    irq: str(r, 'irq'),
    device: str(r, 'device'),
    le: str(r, 'le'),
  }));
}
