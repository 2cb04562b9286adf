/**
 * `isoscope alerts test`: a recorded run read back from the store and replayed through the rules,
 * timestamp by timestamp, with baselines loaded from the store as the live evaluator would. Nothing
 * is sent or delivered; the result is the list of transitions that would have happened, so rules
 * can be tuned on past data.
 */
import { UserError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { Baselines, type RunMeta } from './baselines.js';
import { RuleEngine, type Transition } from './engine.js';
import type { SampleView } from './rules/match.js';
import type { Rule } from './rules/schema.js';
import { isoToNs, rowsToSamples, SAMPLE_COLUMNS, sqlString } from './store-rows.js';

export interface ReplayResult {
  run: string;
  /** Start and end of the run (end: its last phase record, else its last sample), ns. */
  start: bigint;
  end: bigint | null;
  samples: number;
  transitions: Transition[];
  /** Incidents still firing when the recording ends (a run without an end record). */
  stillFiring: number;
}

/** Most samples replayed from one run. */
const MAX_SAMPLES = 5_000_000;

export async function replayRun(store: Store, rules: readonly Rule[], run: string): Promise<ReplayResult> {
  const meta = await runMeta(store, run);
  const baselines = new Baselines(store);
  await baselines.request(rules, meta.meta);
  const metrics = [...new Set(rules.map((r) => r.metric))];
  const res = await store.query(`SELECT ${SAMPLE_COLUMNS} FROM samples WHERE run = ${sqlString(run)} AND metric IN (${metrics.map(sqlString).join(', ')}) ORDER BY ts`, { limit: MAX_SAMPLES, timeoutMs: 120_000 });
  if (res.truncated) throw new UserError(`run ${run} has more than ${MAX_SAMPLES} samples of the rules' metrics; replay it with fewer rules or metrics`);
  const samples = rowsToSamples(res);
  const engine = new RuleEngine(rules, (rule, r) => baselines.lookup(rule, r));
  const transitions: Transition[] = [];
  for (const chunk of byTs(samples)) transitions.push(...engine.observe(chunk));
  if (meta.end !== null) transitions.push(...engine.endRun(run, meta.end));
  return { run, start: meta.start, end: meta.end, samples: samples.length, transitions, stillFiring: engine.firing };
}

/** Samples grouped by ts (they arrive sorted). */
function* byTs(samples: SampleView[]): Generator<SampleView[]> {
  let i = 0;
  while (i < samples.length) {
    let j = i + 1;
    while (j < samples.length && samples[j]!.ts === samples[i]!.ts) j++;
    yield samples.slice(i, j);
    i = j;
  }
}

async function runMeta(store: Store, run: string): Promise<{ meta: RunMeta; start: bigint; end: bigint | null }> {
  const res = await store.query(`SELECT ts, phase, experiment, workload, stack, node_count FROM runs WHERE run = ${sqlString(run)} ORDER BY ts`, { limit: 100 });
  const col = (name: string) => res.columns.findIndex((c) => c.name === name);
  const start = res.rows.find((r) => r[col('phase')] === 'start');
  if (!start) throw new UserError(`run ${run} has no start record in the store's runs table (expected the orchestrator's runs record with phase start)`);
  const stop = res.rows.find((r) => r[col('phase')] !== 'start');
  const ts = (r: unknown[]) => (typeof r[col('ts')] === 'bigint' ? (r[col('ts')] as bigint) : isoToNs(String(r[col('ts')])));
  return {
    meta: { run, experiment: String(start[col('experiment')]), workload: String(start[col('workload')]), stack: String(start[col('stack')]), node_count: Number(start[col('node_count')]) },
    start: ts(start),
    end: stop ? ts(stop) : null,
  };
}
