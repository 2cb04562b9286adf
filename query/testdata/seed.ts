/**
 * A small experiment, deterministic but for its unique names and base time, written identically
 * to any Store (for the API tests on both stores): 3 baseline and 3 interfered repetitions of one
 * configuration, 2 nodes × (cpu 0, 1 and node-wide -1), 60 s of samples at 1 Hz for 4 metrics,
 * a partition per node per run (create + destroy), events (one error per interfered run).
 * `expected` recomputes what the API must answer from the same numbers.
 */
import { RECORDS, type RecordInput, type RecordName, type RecordOf } from '../../schema/records.js';
import type { Store } from '../../store/store.js';

const S = 1_000_000_000n;
export const SEED_METRICS = ['cpu.user', 'instructions', 'LLC-load-misses', 'context-switches'] as const;
export const SEED_NODES = ['n1', 'n2'] as const;
export const SEED_CPUS = [0, 1, -1] as const;
export const RUN_SECONDS = 60;

export interface SeedRun {
  run: string;
  background: boolean;
  repetition: number;
  start: bigint;
  result: number;
}

export interface Seed {
  experiment: string;
  nodes: string[];
  runs: SeedRun[];
  records: { [N in RecordName]?: RecordOf<N>[] };
  /** The sample value written, for expectations. */
  value(run: SeedRun, node: number, cpu: number, metric: string, second: number): number;
}

/** Value of a sample: depends on everything, interfered runs higher, no two repetitions alike. */
function sampleValue(r: SeedRun, node: number, cpu: number, metric: string, second: number): number {
  const m = SEED_METRICS.indexOf(metric as (typeof SEED_METRICS)[number]);
  const base = [50, 1e9, 2e6, 300][m]!;
  const bg = r.background ? [1.3, 0.8, 2.5, 4][m]! : 1;
  return base * bg * (1 + 0.01 * r.repetition + 0.003 * node) + ((second * 7 + cpu * 3 + m) % 11);
}

/** The `hpl` figure of a run's config.figures, not proportional to its result. */
export const seedHpl = (r: SeedRun) => Math.sqrt(r.result) + r.repetition / 10;

export function buildSeed(tag: string, base: bigint): Seed {
  const experiment = `qx-${tag}`;
  const nodes = SEED_NODES.map((n) => `${n}-${tag}`);
  const results = { false: [101.5, 99.25, 100.75], true: [80.5, 84, 78.25] };
  const runs: SeedRun[] = [];
  for (const background of [false, true]) {
    for (let rep = 1; rep <= 3; rep++) {
      runs.push({ run: `r-${tag}-${background ? 'bg' : 'base'}-${rep}`, background, repetition: rep, start: base + BigInt(runs.length * 100) * S + 123_456_789n, result: results[`${background}`][rep - 1]! });
    }
  }
  const seed: Seed = { experiment, nodes, runs, records: {}, value: sampleValue };
  const push = <N extends RecordName>(name: N, input: RecordInput<N>) => {
    ((seed.records[name] ??= []) as RecordOf<N>[]).push(RECORDS[name].schema.parse(input) as RecordOf<N>);
  };
  for (const r of runs) {
    const common = { run: r.run, experiment, workload: 'hpcc', nodes: nodes.join(','), node_count: 2, stack: 'linux', background: r.background, repetition: r.repetition };
    push('runs', { ...common, ts: r.start, phase: 'start', config: { git: 'abc123', hpcc: { N: 1000 }, background_workload: r.background ? 'stress-ng' : null } });
    push('runs', { ...common, ts: r.start + BigInt(RUN_SECONDS) * S, phase: 'end', result: r.result, unit: 'GFLOP/s', config: { figures: { hpl: seedHpl(r), dgemm: 7 }, figure_units: { hpl: 'GFLOP/s', dgemm: 'GFLOP/s' } } });
    nodes.forEach((node, ni) => {
      const partition = `p-${r.run}-${ni}`;
      push('partitions', { ts: r.start - S, partition, node, driver: 'linux-cpuset', action: 'create', cpus: '0-1', mem_mb: 1024, run: r.run });
      push('partitions', { ts: r.start + BigInt(RUN_SECONDS) * S + S, partition, node, driver: 'linux-cpuset', action: 'destroy', cpus: '', mem_mb: 0, run: r.run });
      let idx = 0;
      for (let s = 0; s < RUN_SECONDS; s++) {
        for (const cpu of SEED_CPUS) {
          for (const metric of SEED_METRICS) {
            push('samples', { ts: r.start + BigInt(s) * S + 500_000_000n, node, collector: `${node}/seed`, seq: Number(r.start / S) + s, idx: idx++ % 1000, source: 'perf', metric, value: sampleValue(r, ni, cpu, metric, s), cpu, partition: cpu >= 0 ? partition : null, run: r.run });
          }
        }
        idx = 0;
      }
      push('events', { ts: r.start + 10n * S, node, collector: `${node}/seed-events`, seq: Number(r.start / S), idx: 0, source: 'kitten', level: 'info', kind: 'core_add', partition, run: r.run, message: `core added to ${partition}` });
      if (r.background) push('events', { ts: r.start + 20n * S, node, collector: `${node}/seed-events`, seq: Number(r.start / S), idx: 1, source: 'palacios', level: 'error', kind: 'error', partition, run: r.run, message: `exit storm in ${partition}` });
    });
  }
  return seed;
}

/** Writes the seed to a store (runs and partitions first, as ingest would see them). */
export async function writeSeed(store: Store, seed: Seed): Promise<void> {
  for (const name of ['runs', 'partitions', 'events', 'samples'] as const) {
    const records = seed.records[name] as RecordOf<RecordName>[] | undefined;
    if (records) await store.write(name, records as never);
  }
}
