/**
 * The counters behind a slowdown: per run, per scope (the workload's partition, each background
 * partition, node-wide values), the mean of every metric's samples plus derived metrics (IPC, LLC
 * misses per kilo-instruction, context switches and migrations per second, run-queue latency p50
 * and p99 from the eBPF histogram); then, per scope and metric, the delta of the per-run values
 * between runs with and without background, ranked by |Hedges' g| (runs are the units).
 */
import { quoteIdent } from '../schema/ddl/quote.js';
import type { Store } from '../store/store.js';
import { queryAll, type Run } from './runs.js';
import { inList } from './sql/literals.js';
import { hedgesG, histogramQuantile, mean } from './stats.js';
import { metricUnit } from './units.js';

export const SCOPES = ['workload', 'background', 'other', 'node'] as const;
export type Scope = (typeof SCOPES)[number];

export interface MetricDelta {
  /** workload: the workload's partition; background: a background workload's partition; other: any other partition; node: samples of no partition. */
  scope: Scope;
  partition: string | null;
  metric: string;
  unit: string | null;
  /** Computed from other metrics (ipc, llc_mpki, …/s, run_queue_latency_p50/p99). */
  derived: boolean;
  baseline_mean: number | null;
  interfered_mean: number | null;
  delta: number | null;
  relative_delta: number | null;
  hedges_g: number | null;
  n_baseline: number;
  n_interfered: number;
}

const MISSES = ['LLC-load-misses', 'cache-misses'];
const RATES = ['context-switches', 'cs', 'cpu-migrations', 'migrations', 'context_switches'];
const RUNQ = 'run_queue_latency_seconds';
const DERIVED_UNITS: Record<string, string> = { ipc: 'instructions/cycle', llc_mpki: 'misses/1000 instructions', run_queue_latency_p50: 's', run_queue_latency_p99: 's' };

interface Agg { total: number; n: number }
type ScopeKey = string; // `${scope}\0${partition ?? ''}`

const key = (scope: Scope, partition: string | null): ScopeKey => `${scope}\0${partition ?? ''}`;
const unkey = (k: ScopeKey): [Scope, string | null] => {
  const [s, p] = k.split('\0') as [Scope, string];
  return [s, p === '' ? null : p];
};

/** Partitions any of the runs gave a background workload (the same partition exists, idle, in runs without background). */
export function backgroundPartitions(runs: Run[]): Set<string> {
  const out = new Set<string>();
  for (const r of runs) if (Array.isArray(r.config.background_workloads)) for (const b of r.config.background_workloads as { partition?: unknown }[]) if (typeof b.partition === 'string') out.add(b.partition);
  return out;
}

/** Which scope a sample's partition is in, for one run (from the provenance the runner records). */
export function scopeOf(run: Run, partition: string | null, background: Set<string>): [Scope, string | null] {
  if (partition === null) return ['node', null];
  const wp = typeof run.config.workload_partition === 'string' ? run.config.workload_partition : null;
  if (partition === wp) return ['workload', wp];
  if (background.has(partition)) return ['background', partition];
  // Runs recorded before workload_partition: any partition that no background workload used.
  if (wp === null) return ['workload', null];
  return ['other', partition];
}

/** Per run: scope → metric → per-run value. */
type PerRun = Map<string, Map<ScopeKey, Map<string, number>>>;

async function perRunValues(store: Store, runs: Run[]): Promise<PerRun> {
  const byId = new Map(runs.map((r) => [r.run, r]));
  const ids = inList(runs.map((r) => r.run));
  const background = backgroundPartitions(runs);
  const p = quoteIdent('partition');
  const plain = await queryAll(store,
    `SELECT run, ${p}, metric, wide, sum(value) AS total, count(*) AS n FROM (` +
    `SELECT run, ${p}, metric, CASE WHEN cpu < 0 THEN 1 ELSE 0 END AS wide, value FROM samples WHERE run IN ${ids} AND le IS NULL` +
    `) GROUP BY run, ${p}, metric, wide`);
  const hist = await queryAll(store, `SELECT run, ${p}, le, sum(value) AS count FROM samples WHERE run IN ${ids} AND metric = '${RUNQ}' AND le IS NOT NULL GROUP BY run, ${p}, le`);

  // (run, scope, metric) → aggregates of node-wide (cpu −1) and per-cpu samples, kept apart so a
  // metric that has both is not counted twice: node-wide values win.
  const acc = new Map<string, Map<ScopeKey, Map<string, { wide: Agg | null; cpus: Agg | null }>>>();
  for (const [run, partition, metric, wide, total, n] of plain.rows) {
    const r = byId.get(String(run));
    if (!r) continue;
    const sk = key(...scopeOf(r, partition === null || partition === undefined ? null : String(partition), background));
    const scopes = acc.get(r.run) ?? new Map<ScopeKey, Map<string, { wide: Agg | null; cpus: Agg | null }>>();
    acc.set(r.run, scopes);
    const metrics = scopes.get(sk) ?? new Map<string, { wide: Agg | null; cpus: Agg | null }>();
    scopes.set(sk, metrics);
    const slot = metrics.get(String(metric)) ?? { wide: null, cpus: null };
    metrics.set(String(metric), slot);
    const which = Number(wide) === 1 ? 'wide' : 'cpus';
    const a = slot[which] ?? { total: 0, n: 0 };
    a.total += Number(total);
    a.n += Number(n);
    slot[which] = a;
  }
  const buckets = new Map<string, Map<ScopeKey, Map<number, number>>>();
  for (const [run, partition, le, count] of hist.rows) {
    const r = byId.get(String(run));
    if (!r) continue;
    const sk = key(...scopeOf(r, partition === null || partition === undefined ? null : String(partition), background));
    const scopes = buckets.get(r.run) ?? new Map<ScopeKey, Map<number, number>>();
    buckets.set(r.run, scopes);
    const b = scopes.get(sk) ?? new Map<number, number>();
    scopes.set(sk, b);
    const bound = String(le) === '+Inf' ? Infinity : Number(le);
    b.set(bound, (b.get(bound) ?? 0) + Number(count));
  }

  const out: PerRun = new Map();
  for (const r of runs) {
    const scopes = new Map<ScopeKey, Map<string, number>>();
    out.set(r.run, scopes);
    for (const [sk, metrics] of acc.get(r.run) ?? []) {
      const values = new Map<string, number>();
      const totals = new Map<string, number>();
      for (const [metric, { wide, cpus }] of metrics) {
        const a = (wide ?? cpus)!;
        values.set(metric, a.total / a.n);
        totals.set(metric, a.total);
      }
      const instructions = totals.get('instructions');
      const cycles = totals.get('cycles');
      if (instructions && cycles) values.set('ipc', instructions / cycles);
      const misses = MISSES.map((m) => totals.get(m)).find((v) => v !== undefined);
      if (instructions && misses !== undefined) values.set('llc_mpki', (1000 * misses) / instructions);
      if (r.duration_s && r.duration_s > 0) for (const m of RATES) if (totals.has(m)) values.set(`${m}/s`, totals.get(m)! / r.duration_s);
      scopes.set(sk, values);
    }
    for (const [sk, b] of buckets.get(r.run) ?? []) {
      const values = scopes.get(sk) ?? new Map<string, number>();
      scopes.set(sk, values);
      const list = [...b].map(([le, count]) => ({ le, count }));
      const p50 = histogramQuantile(0.5, list);
      const p99 = histogramQuantile(0.99, list);
      if (p50 !== null) values.set('run_queue_latency_p50', p50);
      if (p99 !== null) values.set('run_queue_latency_p99', p99);
    }
  }
  return out;
}

function unitOf(metric: string): string | null {
  if (DERIVED_UNITS[metric]) return DERIVED_UNITS[metric]!;
  if (metric.endsWith('/s')) return '1/s';
  return metricUnit(metric);
}

const isDerived = (metric: string) => metric in DERIVED_UNITS || metric.endsWith('/s');

/**
 * Metric deltas between runs without (`baseline`) and with background (`interfered`), grouped by
 * scope in the order workload, background partitions, other partitions, node-wide; within a scope
 * the `top` metrics that moved most.
 */
export async function metricDeltas(store: Store, baseline: Run[], interfered: Run[], top: number): Promise<MetricDelta[]> {
  const all = [...baseline, ...interfered];
  if (all.length === 0) return [];
  const perRun = await perRunValues(store, all);
  const names = new Map<ScopeKey, Set<string>>();
  for (const scopes of perRun.values()) {
    for (const [sk, metrics] of scopes) {
      const set = names.get(sk) ?? new Set<string>();
      names.set(sk, set);
      for (const m of metrics.keys()) set.add(m);
    }
  }
  const values = (runs: Run[], sk: ScopeKey, metric: string) =>
    runs.map((r) => perRun.get(r.run)?.get(sk)?.get(metric)).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const order = [...names.keys()].sort((x, y) => {
    const [sx, px] = unkey(x);
    const [sy, py] = unkey(y);
    return SCOPES.indexOf(sx) - SCOPES.indexOf(sy) || (px ?? '').localeCompare(py ?? '');
  });
  const out: MetricDelta[] = [];
  for (const sk of order) {
    const [scope, partition] = unkey(sk);
    const rows = [...names.get(sk)!].map((metric): MetricDelta => {
      const a = values(baseline, sk, metric);
      const b = values(interfered, sk, metric);
      const ma = a.length ? mean(a) : null;
      const mb = b.length ? mean(b) : null;
      const delta = ma !== null && mb !== null ? mb - ma : null;
      return {
        scope, partition, metric, unit: unitOf(metric), derived: isDerived(metric),
        baseline_mean: ma, interfered_mean: mb, delta,
        relative_delta: delta !== null && ma ? delta / Math.abs(ma) : null,
        hedges_g: hedgesG(a, b), n_baseline: a.length, n_interfered: b.length,
      };
    });
    const g = (r: MetricDelta) => (r.hedges_g !== null ? Math.abs(r.hedges_g) : -1);
    rows.sort((x, y) => g(y) - g(x) || Math.abs(y.relative_delta ?? 0) - Math.abs(x.relative_delta ?? 0) || x.metric.localeCompare(y.metric));
    out.push(...rows.slice(0, top));
  }
  return out;
}
