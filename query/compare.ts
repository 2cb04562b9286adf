/**
 * Isolation comparison: the runs of one configuration (experiment, workload, and optionally stack
 * and node count), split by `background`: the slowdown of the figure of merit over repetitions,
 * and the per-metric deltas of per-run means that moved most, ranked by |Hedges' g|. Derived
 * metrics: LLC misses per kilo-instruction (`llc_mpki`) where both counters were collected.
 */
import type { Store } from '../store/store.js';
import { loadRuns, queryAll, type Run } from './runs.js';
import { inList } from './sql/literals.js';
import { hedgesG, mean, slowdown, welchInterval } from './stats.js';

export interface CompareRequest {
  experiment: string;
  workload?: string | undefined;
  stack?: string | undefined;
  node_count?: number | undefined;
  /** Whether a larger result is better; default from the unit (time units → lower is better). */
  higherIsBetter?: boolean | undefined;
  /** Metrics reported, most moved first. */
  top: number;
  level: number;
}

const TIME_UNITS = /^(s|sec|secs|seconds?|ms|us|µs|ns|min|minutes?|h|hours?)$/i;
const MISSES = ['LLC-load-misses', 'cache-misses'];

export class CompareError extends Error {}

export async function compareRuns(store: Store, req: CompareRequest) {
  const all = await loadRuns(store, { experiment: req.experiment, workload: req.workload, stack: req.stack, node_count: req.node_count });
  const done = all.filter((r) => r.status === 'end' && r.result !== null);
  const configs = new Set(done.map((r) => `${r.workload} / ${r.stack} / ${r.node_count} nodes`));
  if (configs.size > 1) {
    throw new CompareError(`the runs of experiment ${req.experiment} span ${configs.size} configurations (${[...configs].join('; ')}): narrow with workload, stack and node_count`);
  }
  const baseline = done.filter((r) => !r.background);
  const interfered = done.filter((r) => r.background);
  if (baseline.length === 0 || interfered.length === 0) {
    throw new CompareError(`need finished runs with and without background for experiment ${req.experiment}; found ${baseline.length} without and ${interfered.length} with`);
  }
  const unit = done.find((r) => r.unit)?.unit ?? null;
  const higher = req.higherIsBetter ?? !(unit && TIME_UNITS.test(unit));
  const resultsA = baseline.map((r) => r.result!);
  const resultsB = interfered.map((r) => r.result!);
  return {
    configuration: { experiment: req.experiment, workload: done[0]!.workload, stack: done[0]!.stack, node_count: done[0]!.node_count },
    unit,
    higher_is_better: higher,
    baseline: summary(baseline),
    interfered: summary(interfered),
    /** > 1: slower with background; ratio of geometric means, Welch interval on the log scale. */
    slowdown: slowdown(resultsA, resultsB, higher, req.level),
    /** interfered − baseline in the result's unit, Welch interval. */
    difference: welchInterval(resultsA, resultsB, req.level),
    metrics: await metricDeltas(store, baseline, interfered, req.top),
  };
}

function summary(runs: Run[]) {
  const results = runs.map((r) => r.result!);
  return { runs: runs.map((r) => r.run), n: runs.length, mean: mean(results), results };
}

async function metricDeltas(store: Store, baseline: Run[], interfered: Run[], top: number) {
  const ids = [...baseline, ...interfered].map((r) => r.run);
  const res = await queryAll(store, `SELECT run, metric, avg(value) AS mean_value, sum(value) AS total FROM samples WHERE run IN ${inList(ids)} GROUP BY run, metric`);
  const perRun = new Map<string, Map<string, { mean: number; total: number }>>();
  for (const [run, metric, m, total] of res.rows) {
    const runMap = perRun.get(String(run)) ?? new Map<string, { mean: number; total: number }>();
    runMap.set(String(metric), { mean: Number(m), total: Number(total) });
    perRun.set(String(run), runMap);
  }
  for (const metrics of perRun.values()) {
    const instructions = metrics.get('instructions')?.total;
    const misses = MISSES.map((m) => metrics.get(m)?.total).find((v) => v !== undefined);
    if (instructions && misses !== undefined) metrics.set('llc_mpki', { mean: (1000 * misses) / instructions, total: NaN });
  }
  const names = new Set([...perRun.values()].flatMap((m) => [...m.keys()]));
  const values = (runs: Run[], metric: string) => runs.map((r) => perRun.get(r.run)?.get(metric)?.mean).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const rows = [...names].map((metric) => {
    const a = values(baseline, metric);
    const b = values(interfered, metric);
    const ma = a.length ? mean(a) : null;
    const mb = b.length ? mean(b) : null;
    const delta = ma !== null && mb !== null ? mb - ma : null;
    return {
      metric,
      baseline_mean: ma,
      interfered_mean: mb,
      delta,
      relative_delta: delta !== null && ma ? delta / Math.abs(ma) : null,
      hedges_g: hedgesG(a, b),
      n_baseline: a.length,
      n_interfered: b.length,
    };
  });
  const key = (r: (typeof rows)[number]) => (r.hedges_g !== null ? Math.abs(r.hedges_g) : -1);
  rows.sort((x, y) => key(y) - key(x) || Math.abs(y.relative_delta ?? 0) - Math.abs(x.relative_delta ?? 0) || x.metric.localeCompare(y.metric));
  return rows.slice(0, top);
}
