/**
 * The observer effect itself: how much slower a workload pinned to one CPU runs while the collector
 * samples every CPU, against the same workload alone, judged only when the measurement can tell.
 *
 * The collector (bench/observer-collector.ts) runs in a process of its own with the default
 * measurement set of an experiment, stays up for the whole bench and starts and stops sampling on
 * command, so "alone" has no perf event open and no BPF program attached. Each comparison is
 * paired (alone and with the collector close together in time, in a random order), so a shared
 * machine's drift does not pass for an effect; the slowdown (alone rate / rate with the collector:
 * 1.00 = no effect, above 1 = slower) is the geometric mean of the paired ratios with a 95 %
 * bootstrap interval. The verdict at 10 Hz (the goal: not distinguishable from no effect, an
 * interval that contains 1.0 and is narrower than ±1 %) is given only when the interval's
 * half-width is under 1 %; otherwise the bench prints "cannot judge: interval wider than ±1 %".
 *
 * Two parts, one after the other:
 * - CPU-bound: `sysbench cpu` pinned to CPU 0, in blocks of three adjacent short runs (alone,
 *   10 Hz, 100 Hz in a random order per block); the rate is sysbench's events over its own
 *   "total time" (the process start-up left out).
 * - memory-bound: one long STREAM triad run pinned to CPU 0, the collector switched in short
 *   windows inside it (bench/observer-memory.ts says why: the VM's memory bandwidth drifts too much
 *   between separate runs).
 * Each part prints its pairs, the load average before and after, and how much of CPU 0 the workload
 * got alone (the rest went to other work on the machine), per second (what an experiment sees) and
 * per CPU second of the workload (its share of CPU 0 left out). Needs root for perf and BPF
 * (without, the collector runs what it can, and says so).
 *
 *   npm run build && node dist/bench/observer-effect.js [--seconds 2] [--budget 120]
 *     [--memory-budget 180] [--window 1] [--settle 0.4] [--mib 64] [--dump windows.jsonl]
 *     [--sources perf,ebpf,procfs] (a part of the default set, to find what an effect comes from)
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { Collector } from './observer-collector.js';
import { memoryPart } from './observer-memory.js';
import { mean, noiseLine, slowdownLine } from './observer-stats.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one run did: its work per second of sysbench's own run time, and the share of CPU 0 it got. */
interface RunResult {
  rate: number;
  /** Work per CPU second of the workload (user + sys). */
  ratePerCpu: number;
  share: number;
}

/** Runs `sysbench cpu` pinned to CPU 0: its rate over its own "total time", and its CPU time from the shell's `times`. */
function runSysbenchCpu(seconds: number): RunResult {
  const out = execFileSync('bash', ['-c', `taskset -c 0 sysbench cpu --threads=1 --time=${seconds} run; times`], { encoding: 'utf8' });
  const total = Number(/total time:\s+([\d.]+)s/.exec(out)![1]);
  const children = out.trim().split('\n').at(-1)!;
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
  const work = Number(/total number of events:\s+(\d+)/.exec(out)![1]);
  return { rate: work / total, ratePerCpu: work / Math.max(cpu, 0.01), share: cpu / total };
}

const RATES = [10, 100] as const;
type Condition = 'alone' | (typeof RATES)[number];

/** The CPU-bound part: blocks of three adjacent `sysbench cpu` runs until `budget` seconds are spent. */
async function cpuPart(collector: Collector, seconds: number, budget: number): Promise<void> {
  const started = performance.now();
  console.log(`  sysbench cpu (CPU-bound): blocks of ${seconds} s runs (alone, 10 Hz, 100 Hz in random order) for ${budget} s; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const blocks: Map<Condition, RunResult>[] = [];
  let blockSeconds = 0;
  for (let block = 0; ; block++) {
    const elapsed = (performance.now() - started) / 1000;
    if (block > 0 && elapsed + blockSeconds * 1.2 > budget) break;
    const t0 = performance.now();
    const order: Condition[] = ['alone', ...RATES];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const runs = new Map<Condition, RunResult>();
    for (const c of order) {
      if (c !== 'alone') {
        await collector.start(c);
        await sleep(500); // past its start-up: programs attached, first ticks read
      }
      try {
        runs.set(c, runSysbenchCpu(seconds));
      } finally {
        if (c !== 'alone') await collector.stop();
      }
    }
    blocks.push(runs);
    blockSeconds = Math.max(blockSeconds, (performance.now() - t0) / 1000);
  }
  const alone = blocks.map((b) => b.get('alone')!);
  console.log(`    ${blocks.length} blocks; alone ${mean(alone.map((r) => r.rate)).toFixed(1)} events/s (${Math.min(...alone.map((r) => r.rate)).toFixed(1)}–${Math.max(...alone.map((r) => r.rate)).toFixed(1)}), ${(mean(alone.map((r) => r.share)) * 100).toFixed(1)} % of CPU 0`);
  for (const [label, rate] of [
    ['per second (what the experiment sees)', (r: RunResult) => r.rate],
    ['per CPU second of the workload (its share of CPU 0 left out)', (r: RunResult) => r.ratePerCpu],
  ] as const) {
    console.log(`    ${label}:`);
    for (const hz of RATES) console.log(`      ${slowdownLine(hz, blocks.map((b) => rate(b.get('alone')!) / rate(b.get(hz)!)))}`);
    console.log(`      ${noiseLine(alone.map(rate))}`);
  }
  console.log(`    ${((performance.now() - started) / 1000).toFixed(0)} s; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 2);
  const budget = arg('--budget', 120);
  const memoryBudget = arg('--memory-budget', 180);
  const dumpAt = process.argv.indexOf('--dump');
  const dump = dumpAt > 0 ? process.argv[dumpAt + 1] : undefined;
  const started = performance.now();
  console.log(`observer effect: workloads pinned to CPU 0 of ${cpus().length}, collector on every CPU`);
  const at = process.argv.indexOf('--sources');
  const collector = new Collector(at > 0 ? process.argv[at + 1]!.split(',') : undefined);
  try {
    // Warm the collector process (module loading, JIT, the eBPF objects' first build) before anything counts.
    const sources = await collector.start(10);
    await sleep(3000);
    await collector.stop();
    console.log(`  collector sources: ${sources}`);
    if (budget > 0) await cpuPart(collector, seconds, budget);
    if (memoryBudget > 0) await memoryPart(collector, { budget: memoryBudget, window: arg('--window', 1), settle: arg('--settle', 0.4), mib: arg('--mib', 64), rates: RATES, ...(dump ? { dump } : {}) });
  } finally {
    await collector.set(null);
    await collector.close();
  }
  console.log(`  ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
}

await main();
