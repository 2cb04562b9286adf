/**
 * SQL of the aligned series: samples of one metric for some runs, put in buckets of
 * `t_rel = ts − run start` by integer arithmetic on nanoseconds (not SAMPLE BY / time_bucket,
 * which align on the calendar, not on each run's start), grouped per run and the chosen
 * dimensions, and aggregated. Each run's start goes in as a CASE over validated run ids.
 */
import { quoteIdent } from '../../schema/ddl/quote.js';
import type { Dialect } from './dialect.js';
import { inList, int, str } from './literals.js';

export const DIMENSIONS = ['node', 'cpu', 'partition'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const AGGREGATES = ['avg', 'sum', 'min', 'max', 'count', 'rate'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface SeriesQuery {
  metric: string;
  /** Run id → its start, ns. */
  starts: Map<string, bigint>;
  stepNs: bigint;
  by: Dimension[];
  agg: Aggregate;
  node?: string[] | undefined;
  cpu?: number | undefined;
  /** Window in t_rel, ns (from inclusive, to exclusive). */
  fromRel?: bigint | undefined;
  toRel?: bigint | undefined;
}

/** Columns: run, the `by` dimensions, bucket (whole steps since run start), value, n. */
export function seriesSql(d: Dialect, q: SeriesQuery): string {
  const runs = [...q.starts.keys()];
  const start = `CASE ${[...q.starts].map(([r, s]) => `WHEN run = ${str(r)} THEN ${int(s)}`).join(' ')} END`;
  const rel = `${d.ns('ts')} - ${start}`;
  const where = [`run IN ${inList(runs)}`, `metric = ${str(q.metric)}`];
  // The designated timestamp bounds the scan on both stores (partition pruning).
  const first = [...q.starts.values()].reduce((a, b) => (b < a ? b : a));
  where.push(`ts >= ${d.ts(first + (q.fromRel ?? 0n))}`);
  if (q.node?.length) where.push(`node IN ${inList(q.node)}`);
  if (q.cpu !== undefined) where.push(`cpu = ${int(q.cpu)}`);
  const dims = q.by.map((b) => quoteIdent(b));
  const inner = ['run', ...dims, `${rel} AS t_rel`, 'value'].join(', ');
  const relWhere = [`t_rel >= ${int(q.fromRel ?? 0n)}`];
  if (q.toRel !== undefined) relWhere.push(`t_rel < ${int(q.toRel)}`);
  const fn = q.agg === 'rate' ? 'sum' : q.agg;
  const value = fn === 'count' ? 'count(*)' : `${fn}(value)`;
  const keys = ['run', ...dims, 'bucket'].join(', ');
  return (
    `SELECT ${keys}, ${value} AS value, count(*) AS n FROM (` +
    `SELECT run, ${dims.map((x) => `${x}, `).join('')}${d.div('t_rel', int(q.stepNs))} AS bucket, value FROM (` +
    `SELECT ${inner} FROM samples WHERE ${where.join(' AND ')}) WHERE ${relWhere.join(' AND ')}` +
    `) GROUP BY ${keys} ORDER BY ${keys}`
  );
}

/** Run phases, partition actions and events of the runs in a window of absolute time, ts as ns. */
export function windowEventsSql(d: Dialect, runs: string[], fromNs: bigint, toNs: bigint, limit: number): { runs: string; partitions: string; events: string } {
  const win = `ts >= ${d.ts(fromNs)} AND ts < ${d.ts(toNs)}`;
  const r = inList(runs);
  return {
    runs: `SELECT ${d.ns('ts')} AS ts_ns, run, phase, message FROM runs WHERE run IN ${r} AND ${win} ORDER BY ts, run`,
    partitions: `SELECT ${d.ns('ts')} AS ts_ns, run, node, ${quoteIdent('partition')}, driver, action, cpus, mem_mb, message FROM partitions WHERE run IN ${r} AND ${win} ORDER BY ts, node LIMIT ${int(limit)}`,
    events: `SELECT ${d.ns('ts')} AS ts_ns, run, node, ${quoteIdent('partition')}, source, level, kind, message FROM events WHERE run IN ${r} AND ${win} ORDER BY ts, node LIMIT ${int(limit)}`,
  };
}
