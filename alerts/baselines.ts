/**
 * Baseline distributions for `baseline` rules, loaded from the store when a run starts: the values
 * of the rule's series (same metric, scope and aggregation) in the runs of the same experiment,
 * workload, stack and node count that ran without background. Loaded once per (rule, run) in the
 * background, so the live stream never waits for the store; until loaded, the detector is silent.
 */
import { componentLogger } from '../core/logger.js';
import type { RunRecord } from '../schema/records.js';
import type { Store } from '../store/store.js';
import { baselineStats, type BaselineStats } from './detectors/baseline.js';
import { aggregate, matches, seriesKey, seriesLabels, type SampleView } from './rules/match.js';
import type { Rule } from './rules/schema.js';
import { rowsToSamples, SAMPLE_COLUMNS, sqlString } from './store-rows.js';

/** The fields of a run's start record that pick its baseline runs. */
export type RunMeta = Pick<RunRecord, 'run' | 'experiment' | 'workload' | 'stack' | 'node_count'>;

/** Most baseline sample rows read per rule. */
const MAX_ROWS = 1_000_000;

export class Baselines {
  private readonly stats = new Map<string, BaselineStats | null>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly log = componentLogger('alerts');

  constructor(private readonly store: Store | null) {}

  /** Starts loading the baselines of the run for every baseline rule (no-op without a store). */
  request(rules: readonly Rule[], run: RunMeta): Promise<void> {
    const jobs = rules.filter((r) => r.detector.kind === 'baseline').map((rule) => {
      const key = `${rule.name}\u0000${run.run}`;
      let p = this.loading.get(key);
      if (!p) {
        p = this.load(rule, run).then(
          (s) => { this.stats.set(key, s); },
          (err: unknown) => { this.log.warn({ err, rule: rule.name, run: run.run }, `Loading the baseline of rule ${rule.name} for run ${run.run} failed; the rule stays silent for that run.`); },
        );
        this.loading.set(key, p);
      }
      return p;
    });
    return Promise.all(jobs).then(() => undefined);
  }

  /** The loaded stats, or null (not loaded, or too few baseline values). */
  lookup(rule: Rule, run: string | null): BaselineStats | null {
    return run === null ? null : (this.stats.get(`${rule.name}\u0000${run}`) ?? null);
  }

  /** Forgets a run's baselines (after it ended). */
  forget(run: string): void {
    for (const key of [...this.stats.keys(), ...this.loading.keys()]) if (key.endsWith(`\u0000${run}`)) { this.stats.delete(key); this.loading.delete(key); }
  }

  private async load(rule: Rule, run: RunMeta): Promise<BaselineStats | null> {
    if (!this.store || rule.detector.kind !== 'baseline') return null;
    const runs = await baselineRuns(this.store, run);
    if (runs.length === 0) {
      this.log.warn({ rule: rule.name, run: run.run }, `No baseline runs (background=false, experiment ${run.experiment}, workload ${run.workload}, stack ${run.stack}, ${run.node_count} nodes) for rule ${rule.name}; it stays silent for run ${run.run}.`);
      return null;
    }
    const res = await this.store.query(`SELECT ${SAMPLE_COLUMNS} FROM samples WHERE metric = ${sqlString(rule.metric)} AND run IN (${runs.map(sqlString).join(', ')})`, { limit: MAX_ROWS, timeoutMs: 60_000 });
    if (res.truncated) this.log.warn({ rule: rule.name }, `The baseline of rule ${rule.name} was cut at ${MAX_ROWS} samples.`);
    const values = seriesValues({ ...rule, scope: { ...rule.scope, run: undefined } }, rowsToSamples(res));
    const stats = baselineStats(values, rule.detector);
    this.log.info({ rule: rule.name, run: run.run, baselineRuns: runs.length, values: values.length, stats }, `Baseline of rule ${rule.name} for run ${run.run}: ${values.length} values from ${runs.length} runs.`);
    return stats;
  }
}

/** Runs of the same experiment, workload, stack and node count without background (not `run` itself). */
export async function baselineRuns(store: Store, run: RunMeta): Promise<string[]> {
  const res = await store.query(
    `SELECT DISTINCT run FROM runs WHERE phase = 'start' AND background = false AND experiment = ${sqlString(run.experiment)} AND workload = ${sqlString(run.workload)} AND stack = ${sqlString(run.stack)} AND node_count = ${Number(run.node_count)} AND run <> ${sqlString(run.run)}`,
    { limit: 10_000 },
  );
  return res.rows.map((r) => String(r[0]));
}

/** The aggregated values of a rule's series over samples (every series pooled), in no particular order. */
export function seriesValues(rule: Rule, samples: readonly SampleView[]): number[] {
  const groups = new Map<string, number[]>();
  for (const s of samples) {
    if (!Number.isFinite(s.value) || !matches(rule, s)) continue;
    const key = `${seriesKey(seriesLabels(rule, s))}\u0000${s.ts}`;
    const g = groups.get(key);
    if (g) g.push(s.value);
    else groups.set(key, [s.value]);
  }
  return [...groups.values()].map((vs) => aggregate(rule.scope.aggregate, vs));
}
