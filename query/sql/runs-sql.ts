/**
 * SQL over the `runs` table: every phase row of the runs that match the filters (filters apply to
 * the run's fields, which every phase row carries), `ts` as integer nanoseconds. Folding the phase
 * rows into one run each happens in runs.ts, the same for both stores.
 */
import type { Dialect } from './dialect.js';
import { inList, int, str } from './literals.js';

export interface RunFilter {
  run?: string[] | undefined;
  experiment?: string | undefined;
  workload?: string | undefined;
  stack?: string | undefined;
  node_count?: number | undefined;
  background?: boolean | undefined;
  /** Runs that started at or after this, ns. */
  from?: bigint | undefined;
  /** Runs that started before this, ns. */
  to?: bigint | undefined;
}

export const RUN_COLUMNS = ['run', 'experiment', 'workload', 'phase', 'nodes', 'node_count', 'stack', 'background', 'repetition', 'config', 'result', 'unit', 'message'] as const;

export function runsSql(d: Dialect, f: RunFilter): string {
  const where: string[] = [];
  if (f.run?.length) where.push(`run IN ${inList(f.run)}`);
  if (f.experiment !== undefined) where.push(`experiment = ${str(f.experiment)}`);
  if (f.workload !== undefined) where.push(`workload = ${str(f.workload)}`);
  if (f.stack !== undefined) where.push(`stack = ${str(f.stack)}`);
  if (f.node_count !== undefined) where.push(`node_count = ${int(f.node_count)}`);
  if (f.background !== undefined) where.push(`background = ${f.background ? 'true' : 'false'}`);
  if (f.from !== undefined || f.to !== undefined) {
    // A run is in the window by its start; the start row is found by the same filters.
    const start: string[] = ["phase = 'start'"];
    if (f.from !== undefined) start.push(`ts >= ${d.ts(f.from)}`);
    if (f.to !== undefined) start.push(`ts < ${d.ts(f.to)}`);
    where.push(`run IN (SELECT run FROM runs WHERE ${start.join(' AND ')})`);
  }
  return `SELECT ${d.ns('ts')} AS ts_ns, ${RUN_COLUMNS.join(', ')} FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ts, run`;
}
