/**
 * The observer effect on a CPU-bound workload: `sysbench cpu` pinned to CPU 0 in blocks of adjacent
 * short runs, one per condition in a random order per block: alone, and the collector at each rate
 * with its threads on any CPU and (with a housekeeping list) on the housekeeping CPUs only. The rate
 * is sysbench's events over its own "total time" (the process start-up left out), and over its CPU
 * time (its share of CPU 0 left out). Each block gives one paired ratio per condition.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { conditions, type Collector } from './observer-collector.js';
import { footprintLines, interruptRates, interruptsOf } from './observer-cpu0.js';
import { mean, noiseLine, ratioLine, slowdownLine } from './observer-stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one run did. */
interface RunResult {
  /** Work per second of sysbench's own run time. */
  rate: number;
  /** Work per CPU second of the workload (user + sys). */
  ratePerCpu: number;
  /** Its share of CPU 0. */
  share: number;
  /** Its context switches per second (waits, preemptions), from its rusage; NaN without GNU time. */
  voluntary: number;
  involuntary: number;
  /** CPU 0's interrupts per second by kind during the run. */
  irqs: Map<string, number>;
  /** The collector process' own CPU time during the run, ms per second. */
  collectorMs: number;
}

const TIME = '/usr/bin/time';

/**
 * Runs `sysbench cpu` pinned to CPU 0: its rate over its own "total time", its CPU time from the
 * shell's `times` (ms resolution), its context switches from GNU time (the rusage of the shell,
 * which includes the waited-for sysbench), and CPU 0's interrupts around it.
 */
function runSysbenchCpu(seconds: number, collector: Collector): RunResult {
  const script = `taskset -c 0 sysbench cpu --threads=1 --time=${Math.round(seconds)} run; times`;
  const gnuTime = existsSync(TIME);
  const irq0 = interruptsOf(0);
  const c0 = collector.cpuNs();
  const t0 = performance.now();
  const r = gnuTime ? spawnSync(TIME, ['-f', 'ctxsw %w %c', 'bash', '-c', script], { encoding: 'utf8' }) : spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const collectorMs = (collector.cpuNs() - c0) / 1e6 / wall;
  const irqs = interruptRates(irq0, interruptsOf(0), wall);
  if (r.status !== 0) throw new Error(`sysbench cpu failed (${r.status}): ${r.stderr}`);
  const out = r.stdout;
  const total = Number(/total time:\s+([\d.]+)s/.exec(out)![1]);
  const children = out.trim().split('\n').at(-1)!;
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
  const work = Number(/total number of events:\s+(\d+)/.exec(out)![1]);
  const ctx = /ctxsw (\d+) (\d+)/.exec(r.stderr);
  return {
    rate: work / total,
    ratePerCpu: work / Math.max(cpu, 0.01),
    share: cpu / total,
    voluntary: ctx ? Number(ctx[1]) / wall : NaN,
    involuntary: ctx ? Number(ctx[2]) / wall : NaN,
    irqs,
    collectorMs,
  };
}

export interface CpuOptions {
  /** Seconds per sysbench run. */
  seconds: number;
  /** Seconds to spend on blocks. */
  budget: number;
  rates: readonly number[];
  /** The housekeeping CPU list the collector's threads are moved to in the extra conditions, or null for none. */
  housekeeping: string | null;
  /**
   * restart: the collector is started before each run with it (0.5 s before) and stopped after, so
   * it runs its first seconds; pause: it keeps running and is stopped (SIGSTOP) for the runs alone
   * and continued for the others, so it runs as it does past its start-up, with its perf events and
   * BPF programs in place throughout.
   */
  switching: 'restart' | 'pause';
}

/** The CPU-bound part: blocks of adjacent `sysbench cpu` runs until `budget` seconds are spent. */
export async function cpuPart(collector: Collector, o: CpuOptions): Promise<void> {
  const started = performance.now();
  const all = conditions(o.rates, o.housekeeping);
  const how = o.switching === 'restart' ? 'the collector started 0.5 s before each run with it and stopped after' : 'the collector kept running, its process stopped (SIGSTOP) for the runs alone';
  console.log(`  sysbench cpu (CPU-bound): blocks of ${o.seconds} s runs (${all.map((c) => c.label).join(', ')}; in a random order per block; ${how}) for ${o.budget} s; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const blocks: Map<string, RunResult>[] = [];
  let blockSeconds = 0;
  for (let block = 0; ; block++) {
    const elapsed = (performance.now() - started) / 1000;
    if (block > 0 && elapsed + blockSeconds * 1.2 > o.budget) break;
    const t0 = performance.now();
    const order = [...all];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const runs = new Map<string, RunResult>();
    for (const c of order) {
      if (o.switching === 'pause') {
        if (c.hz === null) collector.pause();
        else {
          await collector.affinity(c.cpus);
          if (await collector.set(c.hz)) await sleep(3000); // a new rate: past its start-up, unmeasured
          collector.resume();
        }
        runs.set(c.label, runSysbenchCpu(o.seconds, collector));
        continue;
      }
      if (c.hz !== null) {
        // Threads moved before the start, so the sampler thread starts where it will run.
        await collector.affinity(c.cpus);
        await collector.start(c.hz);
        await sleep(500); // past its start-up: programs attached, first ticks read
      }
      try {
        runs.set(c.label, runSysbenchCpu(o.seconds, collector));
      } finally {
        if (c.hz !== null) await collector.stop();
      }
    }
    blocks.push(runs);
    blockSeconds = Math.max(blockSeconds, (performance.now() - t0) / 1000);
  }
  collector.resume();
  const alone = blocks.map((b) => b.get('alone')!);
  console.log(`    ${blocks.length} blocks; alone ${mean(alone.map((r) => r.rate)).toFixed(1)} events/s (${Math.min(...alone.map((r) => r.rate)).toFixed(1)}–${Math.max(...alone.map((r) => r.rate)).toFixed(1)}), ${(mean(alone.map((r) => r.share)) * 100).toFixed(1)} % of CPU 0`);
  for (const [label, rate] of [
    ['per second (what the experiment sees)', (r: RunResult) => r.rate],
    ['per CPU second of the workload (its share of CPU 0 left out)', (r: RunResult) => r.ratePerCpu],
  ] as const) {
    console.log(`    ${label}:`);
    for (const c of all) if (c.hz !== null) console.log(`      ${c.cpus === 'all' ? slowdownLine(c.hz, blocks.map((b) => rate(b.get('alone')!) / rate(b.get(c.label)!))) : ratioLine(`collector ${c.label}: slowdown`, blocks.map((b) => rate(b.get('alone')!) / rate(b.get(c.label)!)), 1, c.hz === 10)}`);
    if (o.housekeeping !== null) {
      for (const hz of o.rates) console.log(`      ${ratioLine(`collector ${hz} Hz anywhere, slowdown against on CPU ${o.housekeeping}:`, blocks.map((b) => rate(b.get(`${hz} Hz on CPU ${o.housekeeping}`)!) / rate(b.get(`${hz} Hz`)!)), 1, false, false)}`);
    }
    console.log(`      ${noiseLine(alone.map(rate))}`);
  }
  console.log(`    the collector's own CPU during the runs: ${all.map((c) => `${c.label} ${mean(blocks.map((b) => b.get(c.label)!.collectorMs)).toFixed(2)} ms/s`).join(', ')}`);
  console.log(`    on CPU 0 during the runs (means; the workload's context switches from its rusage, CPU 0's interrupts from /proc/interrupts):`);
  for (const line of footprintLines(new Map(all.map((c) => [c.label, blocks.map((b) => b.get(c.label)!)])))) console.log(`      ${line}`);
  console.log(`    ${((performance.now() - started) / 1000).toFixed(0)} s; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
