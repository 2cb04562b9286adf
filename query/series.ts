/**
 * Aligned series: one metric of one or more runs, on common buckets of t_rel = ts − run start,
 * so runs overlay; plus the run phases, partition actions and events of the same window. The step
 * is given, or chosen so the longest run gets about `points` buckets (rounded to 1, 2 or 5 × 10^k ns).
 */
import type { Store } from '../store/store.js';
import { loadRuns, queryAll, type Run } from './runs.js';
import { dialectOf, toNs } from './sql/dialect.js';
import { inList, str } from './sql/literals.js';
import { seriesSql, windowEventsSql, type Aggregate, type Dimension } from './sql/series-sql.js';

export interface SeriesRequest {
  runs: string[];
  metric: string;
  step?: bigint | undefined;
  points: number;
  by: Dimension[];
  agg: Aggregate;
  node?: string[] | undefined;
  cpu?: number | undefined;
  fromRel?: bigint | undefined;
  toRel?: bigint | undefined;
  /** Most events of each kind returned. */
  eventLimit: number;
}

export interface Series {
  run: string;
  node?: string | null;
  cpu?: number | null;
  partition?: string | null;
  /** [t_rel seconds (bucket start), value, samples in the bucket] */
  points: [number, number | null, number][];
}

/** 1, 2 or 5 × 10^k nanoseconds, at least `ns`, at least 1 ms. */
export function niceStep(ns: bigint): bigint {
  let p = 1_000_000n;
  for (;;) {
    for (const m of [1n, 2n, 5n]) if (p * m >= ns) return p * m;
    p *= 10n;
  }
}

export class NotFound extends Error {}

export async function alignedSeries(store: Store, req: SeriesRequest) {
  const d = dialectOf(store.kind);
  const runs = await loadRuns(store, { run: req.runs });
  const missing = req.runs.filter((r) => !runs.some((x) => x.run === r && x.start_ns));
  if (missing.length) throw new NotFound(`no start of run ${missing.join(', ')} in the runs table: check the run ids (GET /api/runs lists them)`);
  const starts = new Map(runs.map((r) => [r.run, BigInt(r.start_ns!)]));
  const extent = await dataExtent(store, req, starts);
  let step = req.step;
  if (step === undefined) {
    const span = req.toRel !== undefined ? req.toRel - (req.fromRel ?? 0n) : extent - (req.fromRel ?? 0n);
    step = niceStep((span > 0n ? span : 1_000_000_000n) / BigInt(req.points));
  }
  const res = await queryAll(store, seriesSql(d, { metric: req.metric, starts, stepNs: step, by: req.by, agg: req.agg, node: req.node, cpu: req.cpu, fromRel: req.fromRel, toRel: req.toRel }));
  const stepS = Number(step) / 1e9;
  const series = new Map<string, Series>();
  for (const row of res.rows) {
    const dims = row.slice(1, 1 + req.by.length);
    const key = JSON.stringify([row[0], ...dims]);
    let s = series.get(key);
    if (!s) {
      s = { run: String(row[0]), points: [] };
      req.by.forEach((b, i) => ((s as unknown as Record<string, unknown>)[b] = b === 'cpu' ? Number(dims[i]) : ((dims[i] as string | null) ?? null)));
      series.set(key, s);
    }
    const bucket = Number(row[1 + req.by.length]);
    const raw = row[2 + req.by.length];
    const value = raw === null || raw === undefined ? null : req.agg === 'rate' ? Number(raw) / stepS : Number(raw);
    s.points.push([round(bucket * stepS), value, Number(row[3 + req.by.length])]);
  }
  const fromRel = req.fromRel ?? 0n;
  // Default window: up to one step past the last data or the last run end, whichever is later.
  const ends = runs.map((r) => (r.end_ns ? BigInt(r.end_ns) - BigInt(r.start_ns!) : 0n));
  const toRel = req.toRel ?? ends.reduce((a, b) => (b > a ? b : a), extent) + step;
  const events = req.eventLimit > 0 ? await windowEvents(store, runs, fromRel, toRel, req.eventLimit) : { runs: [], partitions: [], events: [] };
  return {
    metric: req.metric,
    agg: req.agg,
    by: req.by,
    step_ns: step.toString(),
    step_s: stepS,
    runs: runs.map(({ phases: _p, config: _c, ...r }) => r),
    series: [...series.values()],
    events,
  };
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

/** Longest t_rel with data of the metric among the runs, ns (0 without data). */
async function dataExtent(store: Store, req: SeriesRequest, starts: Map<string, bigint>): Promise<bigint> {
  const d = dialectOf(store.kind);
  const res = await queryAll(store, `SELECT run, max(${d.ns('ts')}) AS last_ns FROM samples WHERE run IN ${inList(req.runs)} AND metric = ${str(req.metric)} GROUP BY run`);
  let extent = 0n;
  for (const [run, last] of res.rows) {
    if (last === null) continue;
    const rel = toNs(last) - starts.get(String(run))!;
    if (rel > extent) extent = rel;
  }
  return extent;
}

/** Phases, partition actions and events of each run between its start + fromRel and start + toRel. */
async function windowEvents(store: Store, runs: Run[], fromRel: bigint, toRel: bigint, limit: number) {
  const d = dialectOf(store.kind);
  const starts = runs.map((r) => BigInt(r.start_ns!));
  const first = starts.reduce((a, b) => (b < a ? b : a));
  const last = starts.reduce((a, b) => (b > a ? b : a));
  const sql = windowEventsSql(d, runs.map((r) => r.run), first + fromRel, last + toRel, limit);
  const startOf = new Map(runs.map((r) => [r.run, BigInt(r.start_ns!)]));
  const read = async (text: string) => {
    const res = await queryAll(store, text);
    const names = res.columns.map((c) => c.name);
    return res.rows
      .map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])) as Record<string, unknown>)
      .map(({ ts_ns, ...rest }) => {
        const ns = toNs(ts_ns);
        const rel = ns - startOf.get(String(rest.run))!;
        return { t_rel_s: Number(rel) / 1e9, ts_ns: ns.toString(), ...rest, _rel: rel };
      })
      .filter((e) => e._rel >= fromRel && e._rel < toRel)
      .map(({ _rel, ...e }) => e);
  };
  return { runs: await read(sql.runs), partitions: await read(sql.partitions), events: await read(sql.events) };
}
