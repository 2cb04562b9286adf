/**
 * compareExperiment on a real (in-memory) DuckDB store with hand-made records: cells, scopes in
 * order (workload partition, background partition, node-wide), derived metrics computed from the
 * numbers written, run-queue quantiles from the histogram, failed/aborted runs and a single
 * repetition explained in the cell's notes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORDS, type RecordInput, type RecordName } from '../schema/records.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { compareExperiment, CompareError } from './compare.js';

const S = 1_000_000_000n;
const T0 = 1_800_000_000n * S;

interface R { run: string; nodes: number; bg: boolean; rep: number; phase: 'end' | 'fail' | 'abort'; hpl?: number; ipc?: number; cs?: number; slowQueue?: boolean }
const RUNS: R[] = [
  { run: 'c-1-a', nodes: 1, bg: false, rep: 1, phase: 'end', hpl: 4, ipc: 2, cs: 10 },
  { run: 'c-1-b', nodes: 1, bg: false, rep: 2, phase: 'end', hpl: 4.2, ipc: 2.1, cs: 12 },
  { run: 'c-1-c', nodes: 1, bg: true, rep: 1, phase: 'end', hpl: 2, ipc: 1, cs: 100, slowQueue: true },
  { run: 'c-1-d', nodes: 1, bg: true, rep: 2, phase: 'end', hpl: 2.2, ipc: 1.2, cs: 120, slowQueue: true },
  { run: 'c-1-e', nodes: 1, bg: true, rep: 3, phase: 'fail' },
  { run: 'c-2-a', nodes: 2, bg: false, rep: 1, phase: 'end', hpl: 8, ipc: 2, cs: 10 },
  { run: 'c-2-b', nodes: 2, bg: true, rep: 1, phase: 'end', hpl: 5, ipc: 1.5, cs: 50 },
  { run: 'c-2-c', nodes: 2, bg: true, rep: 2, phase: 'abort' },
];
const RUN_S = 10;

function records() {
  const out: Partial<Record<RecordName, unknown[]>> = {};
  const push = <N extends RecordName>(name: N, input: RecordInput<N>) => {
    const list: unknown[] = out[name] ?? [];
    out[name] = list;
    list.push((RECORDS[name].schema as { parse(v: unknown): unknown }).parse(input));
  };
  RUNS.forEach((r, i) => {
    const start = T0 + BigInt(i * 100) * S;
    const common = { run: r.run, experiment: 'cx', workload: 'hpcc', nodes: r.nodes === 1 ? 'n1' : 'n1,n2', node_count: r.nodes, stack: 'linux', background: r.bg, repetition: r.rep };
    const provenance = { spec_hash: 'h1', workload_partition: 'app', background_workloads: r.bg ? [{ entry: 'stress-ng', partition: 'noise' }] : [] };
    push('runs', { ...common, ts: start, phase: 'start', config: provenance });
    push('runs', { ...common, ts: start + BigInt(RUN_S) * S, phase: r.phase, result: r.hpl ? r.hpl * 10 : null, unit: r.hpl ? 'GB/s' : null, message: r.phase === 'end' ? null : `${r.phase} on purpose`, config: r.hpl ? { figures: { hpl: r.hpl } } : {} });
    if (r.phase !== 'end') return;
    let idx = 0;
    const sample = (s: number, partition: string | null, cpu: number, metric: string, value: number, le: string | null = null) =>
      push('samples', { ts: start + BigInt(s) * S, node: 'n1', collector: 'n1/t', seq: i * 1000 + s, idx: idx++, source: 'perf', metric, value, cpu, partition, run: r.run, le });
    for (let s = 0; s < RUN_S; s++) {
      sample(s, 'app', 0, 'cycles', 1e9);
      sample(s, 'app', 0, 'instructions', r.ipc! * 1e9);
      sample(s, 'app', 0, 'context-switches', r.cs!);
      sample(s, 'app', -1, 'context-switches', r.cs! * 1000); // node-wide values of the scope win over per-cpu ones
      if (r.bg) sample(s, 'noise', 0, 'cycles', 5e8);
      sample(s, null, -1, 'procs_running', r.bg ? 3 : 1);
      // run-queue latency: per second 10 observations; without background all ≤ 1 ms, with it half ≤ 1 ms, half ≤ 4 ms.
      const le = [['0.001', r.slowQueue ? 5 : 10], ['0.002', r.slowQueue ? 5 : 10], ['0.004', 10], ['+Inf', 10]] as const;
      for (const [bound, count] of le) sample(s, 'app', -1, 'run_queue_latency_seconds', count, bound);
    }
  });
  return out;
}

describe('compareExperiment', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  beforeAll(async () => {
    await store.start();
    const recs = records();
    for (const name of ['runs', 'samples'] as const) await store.write(name, recs[name] as never);
  });
  afterAll(() => store.shutdown());

  it('compares every cell, scopes in order, with units and derived metrics', async () => {
    const c = await compareExperiment(store, { experiment: 'cx', figure: 'hpl', top: 50, level: 0.95 });
    expect(c).toMatchObject({ experiment: 'cx', figure: 'hpl', unit: 'GFLOP/s', higher_is_better: true, spec_hash: 'h1', runs: { total: 8, end: 6, fail: 1, abort: 1, running: 0, usable: 6 } });
    expect(c.cells.map((x) => x.node_count)).toEqual([1, 2]);
    const [one, two] = c.cells;
    expect(one!.slowdown_estimate).toBeCloseTo(Math.sqrt(4 * 4.2) / Math.sqrt(2 * 2.2), 12);
    expect(one!.slowdown!.low).toBeLessThan(one!.slowdown!.estimate);
    expect(one!.notes).toEqual(['run c-1-e (with background, repetition 3) failed: fail on purpose']);
    const scopes = [...new Set(one!.metrics.map((m) => `${m.scope}:${m.partition}`))];
    expect(scopes).toEqual(['workload:app', 'background:noise', 'node:null']);
    const m = (scope: string, metric: string) => one!.metrics.find((x) => x.scope === scope && x.metric === metric)!;
    expect(m('workload', 'ipc')).toMatchObject({ unit: 'instructions/cycle', derived: true, baseline_mean: expect.closeTo(2.05, 12), interfered_mean: expect.closeTo(1.1, 12) });
    // node-wide context switches of the scope (cs × 1000 per second, 10 s) over the 10 s run
    expect(m('workload', 'context-switches/s')).toMatchObject({ unit: '1/s', baseline_mean: expect.closeTo(11_000, 9), interfered_mean: expect.closeTo(110_000, 9) });
    expect(m('workload', 'cycles').unit).toBe('count');
    // p50: without background rank 50 of 100 in (0, 1 ms] → 0.5 ms; with it rank 50 of 100 is the top of (0, 1 ms] → 1 ms
    expect(m('workload', 'run_queue_latency_p50')).toMatchObject({ unit: 's', baseline_mean: expect.closeTo(0.0005, 12), interfered_mean: expect.closeTo(0.001, 12) });
    expect(m('workload', 'run_queue_latency_p99').interfered_mean).toBeCloseTo(0.002 + (0.002 * (99 - 50)) / 50, 12);
    expect(one!.metrics.some((x) => x.metric === 'run_queue_latency_seconds')).toBe(false);
    expect(m('background', 'cycles')).toMatchObject({ n_baseline: 0, n_interfered: 2, delta: null });
    expect(m('node', 'procs_running')).toMatchObject({ unit: 'tasks', delta: 2 });

    expect(two!.slowdown).toBeNull();
    expect(two!.slowdown_estimate).toBeCloseTo(8 / 5, 12);
    expect(two!.baseline.geometric_mean).toMatchObject({ estimate: 8, low: null, high: null, n: 1 });
    expect(two!.notes).toEqual(['a single repetition on one side: no interval', 'run c-2-c (with background, repetition 2) was aborted: abort on purpose']);
  });

  it('uses the run result without a figure, and says which figures exist', async () => {
    const c = await compareExperiment(store, { experiment: 'cx', top: 2, level: 0.95 });
    expect(c).toMatchObject({ figure: null, unit: 'GB/s', figures: ['hpl'] });
    expect(c.cells[0]!.baseline.results).toEqual([40, 42]);
    expect(c.cells[0]!.metrics.filter((x) => x.scope === 'workload')).toHaveLength(2);
    await expect(compareExperiment(store, { experiment: 'cx', figure: 'dgemm', top: 2, level: 0.95 })).rejects.toThrow(/has figure "dgemm" in config.figures; they have hpl/);
    await expect(compareExperiment(store, { experiment: 'cy', top: 2, level: 0.95 })).rejects.toThrow(CompareError);
  });
});
