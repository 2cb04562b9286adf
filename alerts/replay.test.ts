/**
 * `alerts test`: a recorded run replayed from the real store (DuckDB, and QuestDB of the test
 * services) through a baseline rule (baseline loaded from runs without background) and a CUSUM
 * rule, with the transitions computed by hand below; then the same through the compiled CLI, and the
 * live evaluator loading the same baseline from the store when a run starts on the bus.
 *
 * Data (node n, context_switches every second, cpu -1):
 *  - 3 baseline runs (background=false): 20 values each, 1000 + 10·(i mod 5) → mean 1020, std 14.26;
 *  - the replayed run (background=true): t = 0..29 s, 1020 except 2000 for t = 10..19; end at 30 s.
 * baseline (z > 4, for 2s): breach from t=10 (z = 68.7), fires at t=12, resolves at t=20 (z = 0).
 * CUSUM (warm-up 5, k 0.5, h 5, σ floored at 1% of 1020 = 10.2): z(2000) = 96 → S⁺ capped at 10,
 * fires at t=10 (for 0); back at 1020 S⁺ falls 0.5 per value: 9.5 at t=20 … 5 at t=29 → resolves at t=29.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { encode, validate } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import type { Store } from '../store/store.js';
import { pollUntil, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import type { Transition } from './engine.js';
import { Evaluator } from './evaluator.js';
import { replayRun } from './replay.js';
import { parseRules } from './rules/load.js';

const tempDir = tempDirs('isoscope-alerts-replay-');
const S = 1_000_000_000n;
const T0 = 1_790_000_000n * S;
const RULES = `
rules:
  - name: cs-deviate
    metric: context_switches
    scope: { by: [node, run] }
    detector: { kind: baseline, method: zscore, z: 4, direction: above, minSamples: 20 }
    for: 2s
  - name: cs-change
    metric: context_switches
    scope: { by: [node, run] }
    detector: { kind: changepoint, warmup: 5, k: 0.5, h: 5, direction: both }
  - name: never
    metric: no-such-metric
    detector: { kind: threshold, op: ">", value: 0 }
`;
const RULES_PARSED = parseRules(RULES, 'r.yaml').rules.filter((r) => r.detector.kind === 'baseline');
const EXPECTED = [[10, 'firing', 'cs-change'], [12, 'firing', 'cs-deviate'], [20, 'resolved', 'cs-deviate'], [29, 'resolved', 'cs-change']];

function runRecord(run: string, experiment: string, ts: bigint, phase: 'start' | 'end', background: boolean): RecordInput<'runs'> {
  return { ts, run, experiment, workload: 'w', phase, nodes: 'n', node_count: 1, stack: 'linux', background, repetition: 1 };
}

function series(run: string, start: bigint, values: number[]): RecordInput<'samples'>[] {
  return values.map((value, i) => ({ ts: start + BigInt(i) * S, node: 'n', collector: `n/${run}`, seq: i, idx: 0, source: 'procfs', metric: 'context_switches', value, cpu: -1, run }));
}

/** Writes the recording; returns the replayed run's id. */
async function record(store: Store, experiment: string): Promise<string> {
  const target = uniqueName('disturbed');
  const runs: RecordInput<'runs'>[] = [];
  const samples: RecordInput<'samples'>[] = [];
  for (let b = 0; b < 3; b++) {
    const run = uniqueName(`quiet${b}`);
    const start = T0 + BigInt(b) * 100n * S;
    runs.push(runRecord(run, experiment, start, 'start', false), runRecord(run, experiment, start + 20n * S, 'end', false));
    samples.push(...series(run, start, Array.from({ length: 20 }, (_, i) => 1000 + 10 * (i % 5))));
  }
  const start = T0 + 1000n * S;
  runs.push(runRecord(target, experiment, start, 'start', true), runRecord(target, experiment, start + 30n * S, 'end', true));
  samples.push(...series(target, start, Array.from({ length: 30 }, (_, t) => (t >= 10 && t < 20 ? 2000 : 1020))));
  await store.write('runs', validate('runs', runs));
  await store.write('samples', validate('samples', samples));
  return target;
}

function summary(result: Awaited<ReturnType<typeof replayRun>>): unknown[] {
  return result.transitions.map((t) => [Number((t.ts - result.start) / S), t.state, t.rule.name]);
}

describe('alerts test (replay)', () => {
  it('replays a DuckDB recording with baselines, as computed by hand, and through the CLI', async () => {
    const dir = tempDir();
    const store = new DuckDbStore({ path: join(dir, 'isoscope.duckdb') });
    await store.start();
    const run = await record(store, uniqueName('exp'));
    const result = await replayRun(store, parseRules(RULES, 'r.yaml').rules, run);
    await store.shutdown();
    expect(result.samples).toBe(30);
    expect(summary(result)).toEqual(EXPECTED);
    expect(result.stillFiring).toBe(0);
    expect(result.transitions[1]!.message).toMatch(/z = 68\.7\d vs ±4 \(baseline mean 1020, std 14\.2\d, n 60\)/);

    writeFileSync(join(dir, 'rules.yaml'), RULES);
    const cli = await promisify(execFile)(process.execPath, [new URL('../bin/isoscope.js', import.meta.url).pathname, 'alerts', 'test', join(dir, 'rules.yaml'), '--run', run, '--json'], {
      cwd: dir,
      env: { ...process.env, ISOSCOPE_STORE: 'duckdb', ISOSCOPE_BUS: 'embedded', ISOSCOPE_DATA_DIR: dir, ISOSCOPE_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    const json = JSON.parse(cli.stdout) as { transitions: { tRelSeconds: number; state: string; rule: string }[] };
    expect(json.transitions.map((t) => [t.tRelSeconds, t.state, t.rule])).toEqual(EXPECTED);
    const table = await promisify(execFile)(process.execPath, [new URL('../bin/isoscope.js', import.meta.url).pathname, 'alerts', 'test', join(dir, 'rules.yaml'), '--run', run], {
      cwd: dir,
      env: { ...process.env, ISOSCOPE_STORE: 'duckdb', ISOSCOPE_BUS: 'embedded', ISOSCOPE_DATA_DIR: dir, ISOSCOPE_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    expect(table.stdout).toMatch(/30 samples .* 2 incidents/);
    expect(table.stdout).toMatch(/12\.000\s+firing\s+cs-deviate/);
  });

  it('`isoscope alerts check` names the file, line and field of a mistake', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - name: a\n    metric: m\n    detector: {kind: baseline, method: median}\n');
    const failed = await promisify(execFile)(process.execPath, [new URL('../bin/isoscope.js', import.meta.url).pathname, 'alerts', 'check', join(dir, 'bad.yaml')], { cwd: dir, timeout: 30_000 }).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`${join(dir, 'bad.yaml')}:4: rules[0].detector.method: Invalid option: expected one of "zscore"|"quantile"`);
  });

  it('the live evaluator loads the same baseline from the store when the run starts on the bus', async () => {
    const dir = tempDir();
    const store = new DuckDbStore({ path: join(dir, 'isoscope.duckdb') });
    await store.start();
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    const seen: Transition[] = [];
    const evaluator = new Evaluator(bus, { rules: parseRules(RULES, 'r.yaml'), outboxDir: join(dir, 'outbox'), seriesBaseUrl: 'http://hub:7410', node: 'hub', store, group: uniqueName('alerts'), onTransition: (t) => seen.push(t) });
    try {
      const experiment = uniqueName('exp');
      await record(store, experiment); // the 3 quiet runs are the baseline; the recorded disturbed run is not replayed here
      await evaluator.start();
      const producer = bus.producer();
      await producer.start();
      const run = uniqueName('live');
      const start = BigInt(Date.now()) * 1_000_000n;
      await producer.send('runs', [{ key: run, value: encode('runs', [runRecord(run, experiment, start, 'start', true)]) }]);
      await pollUntil(async () => evaluator.baselines.lookup(RULES_PARSED[0]!, run), (s) => s !== null, 10_000, 20);
      // Samples without run: the evaluator tags them from the run's nodes, as ingest would.
      const values = Array.from({ length: 16 }, (_, t) => (t >= 8 ? 2000 : 1020));
      for (const [i, value] of values.entries()) {
        await producer.send('samples', [{ key: 'n', value: encode('samples', [{ ...series(run, start + BigInt(i + 1) * S, [value])[0]!, run: null, seq: i }]) }]);
      }
      await pollUntil(async () => seen.length, (n) => n >= 2, 10_000, 20);
      expect(seen.map((t) => [Number((t.ts - start) / S) - 1, t.state, t.rule.name])).toEqual([[8, 'firing', 'cs-change'], [10, 'firing', 'cs-deviate']]);
      expect(seen[1]!.run).toBe(run);
      await producer.shutdown();
    } finally {
      await evaluator.shutdown(2000);
      await bus.shutdown();
      await store.shutdown();
    }
  });

  it('replays the same recording from QuestDB', async () => {
    const s = testServices();
    const store = new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg, user: s.questdb.user, password: s.questdb.password, readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword });
    await store.start();
    try {
      const experiment = uniqueName('exp');
      const run = await record(store, experiment);
      // QuestDB applies WAL writes asynchronously: wait until the whole recording is visible.
      await pollUntil(() => store.query(`SELECT count(*) FROM samples WHERE run = '${run}'`), (r) => Number(r.rows[0]![0]) === 30);
      await pollUntil(() => store.query(`SELECT count(*) FROM runs WHERE experiment = '${experiment}'`), (r) => Number(r.rows[0]![0]) === 8);
      const result = await replayRun(store, parseRules(RULES, 'r.yaml').rules, run);
      expect(summary(result)).toEqual(EXPECTED);
    } finally {
      await store.shutdown();
    }
  });
});
