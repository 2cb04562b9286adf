/**
 * The observer effect itself: how much slower a workload pinned to one CPU runs while the collector
 * samples every CPU, against the same workload alone, judged only when the measurement can tell.
 *
 * The collector (bench/observer-collector.ts) runs in a process of its own with the default
 * measurement set of an experiment and stays up for the whole bench. It is switched in one of two
 * ways (`--switch`):
 * - pause (the default): it keeps sampling and its process is stopped (SIGSTOP) for "alone" and
 *   continued (SIGCONT) for "with": it runs as in an experiment, past its start-up, and the switch
 *   is immediate, so windows can be short; its perf events stay open and its BPF programs attached
 *   in both, so their in-kernel work is not in the comparison (CPU 0's interrupts and the
 *   workload's context switches are printed to size it);
 * - restart: it is stopped and started, so "alone" has no perf event open and no BPF program
 *   attached, but "with" is its first seconds after a start (costlier: its CPU time is printed).
 * With more than one CPU the collector is also measured with every thread moved to the
 * housekeeping CPUs (`--housekeeping`, default the last CPU; collector.housekeepingCpus).
 * Each comparison is paired (alone and with the collector close together in time, in a random
 * order), so a shared machine's drift does not pass for an effect; the slowdown (alone rate / rate
 * with the collector: 1.00 = no effect, above 1 = slower) is the geometric mean of the paired
 * ratios with a 95 % bootstrap interval. The verdict at 10 Hz (the goal: not distinguishable from
 * no effect, an interval that contains 1.0 and is narrower than ±1 %) is given only when the
 * interval's half-width is under 1 % and it comes from at least 10 pairs; otherwise "cannot judge".
 *
 * Two parts, one after the other:
 * - CPU-bound (bench/observer-cpu.ts): `sysbench cpu` pinned to CPU 0, in blocks of adjacent short
 *   runs (alone and each condition in a random order per block); the rate is sysbench's events
 *   over its own "total time" (the process start-up left out).
 * - memory-bound (bench/observer-memory.ts): one long STREAM triad run pinned to CPU 0, the
 *   collector switched in short windows inside it (the VM's memory bandwidth drifts too much
 *   between separate runs). `--noise SECONDS` instead runs the triad alone and prints its noise's
 *   time structure (bench/observer-noise.ts), to choose the windows.
 * Each part prints its pairs, the load average before and after, and how much of CPU 0 the workload
 * got alone (the rest went to other work on the machine), per second (what an experiment sees) and
 * per CPU second of the workload (its share of CPU 0 left out). Needs root for perf and BPF
 * (without, the collector runs what it can, and says so).
 *
 *   npm run build && node dist/bench/observer-effect.js [--seconds 2] [--budget 150]
 *     [--memory-budget 150] [--switch pause|restart] [--window 0.3] [--settle 0.1] [--segment 20]
 *     [--rates 10] [--housekeeping 1|off] [--mib 64] [--dump windows.jsonl] [--noise 120]
 *     [--sources perf,ebpf,procfs] (a part of the default set, to find what an effect comes from)
 *     [--placebo] (the memory part also measures a condition switched like the others with the
 *     collector's sampling off: a check of the method, which should show no effect)
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { cpus } from 'node:os';
import { expandCpuList } from '../core/cpu-list.js';
import { Collector, conditions, PLACEBO } from './observer-collector.js';
import { cpuPart } from './observer-cpu.js';
import { memoryPart } from './observer-memory.js';
import { noisePart } from './observer-noise.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 2);
  const budget = arg('--budget', 150);
  const memoryBudget = arg('--memory-budget', 150);
  const dumpAt = process.argv.indexOf('--dump');
  const dump = dumpAt > 0 ? process.argv[dumpAt + 1] : undefined;
  const ratesAt = process.argv.indexOf('--rates');
  // The goal's rate by default: with 100 Hz too, each part needs about twice the time for as many pairs.
  const rates = ratesAt > 0 ? process.argv[ratesAt + 1]!.split(',').map(Number) : [10];
  if (rates.some((hz) => !Number.isInteger(hz) || hz < 1 || hz > 1000)) throw new Error(`--rates: expected rates in Hz like 10,100, got "${process.argv[ratesAt + 1]}"`);
  // The collector's threads on these CPUs in extra conditions (collector.housekeepingCpus): by default the last CPU, off CPU 0.
  const hkAt = process.argv.indexOf('--housekeeping');
  const lastCpu = cpus().length - 1;
  const housekeeping = hkAt > 0 ? (process.argv[hkAt + 1] === 'off' ? null : process.argv[hkAt + 1]!) : lastCpu > 0 ? String(lastCpu) : null;
  if (housekeeping !== null && expandCpuList(housekeeping).includes(0)) throw new Error(`--housekeeping: "${housekeeping}" includes CPU 0, where the workload runs`);
  const started = performance.now();
  console.log(`observer effect: workloads pinned to CPU 0 of ${cpus().length}, collector measuring every CPU, its threads on any CPU${housekeeping === null ? '' : ` and (collector.housekeepingCpus) on CPU ${housekeeping} only`}`);
  const switchAt = process.argv.indexOf('--switch');
  const switching = switchAt > 0 ? process.argv[switchAt + 1] : 'pause';
  if (switching !== 'restart' && switching !== 'pause') throw new Error(`--switch: expected restart or pause, got "${switching}"`);
  // A restart takes 40–150 ms and its start-up is dropped; a pause takes effect at once.
  const [window, settle] = switching === 'pause' ? [arg('--window', 0.3), arg('--settle', 0.1)] : [arg('--window', 1), arg('--settle', 0.4)];
  const noise = arg('--noise', 0);
  // --placebo: one more memory-bound condition switched exactly like the others, with the collector
  // process idle (sampling off): whatever it shows is the method's, not the collector's.
  const placebo = process.argv.includes('--placebo');
  if (noise > 0) {
    // The memory-bound workload's own noise only: no collector.
    await noisePart({ seconds: noise, mib: arg('--mib', 64), gaps: [0, 0.1, 0.4] });
    return;
  }
  const at = process.argv.indexOf('--sources');
  const collector = new Collector(at > 0 ? process.argv[at + 1]!.split(',') : undefined);
  try {
    // Warm the collector process (module loading, JIT, the eBPF objects' first build) before anything counts.
    const sources = await collector.start(10);
    await sleep(3000);
    await collector.stop();
    console.log(`  collector sources: ${sources}`);
    if (budget > 0) await cpuPart(collector, { seconds, budget, rates, housekeeping, switching });
    await collector.affinity('all');
    if (memoryBudget > 0) await memoryPart(collector, { budget: memoryBudget, window, settle, mib: arg('--mib', 64), conditions: [...conditions(rates, housekeeping).filter((c) => c.hz !== null), ...(placebo ? [PLACEBO] : [])], switching, segment: arg('--segment', 20), ...(dump ? { dump } : {}) });
  } finally {
    await collector.set(null);
    await collector.close();
  }
  console.log(`  ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
}

await main();
