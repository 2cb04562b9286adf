/**
 * The observer effect on a memory-bound workload, measured inside one long run.
 *
 * Why not separate runs: this VM's memory bandwidth drifts with its host, ±20 % between 2 s runs of
 * `sysbench memory`, so paired 2 s runs gave intervals of ±2–4 % at best. Here one workload process
 * (bench/stream-triad.c: STREAM's triad over three arrays each twice the last-level cache, pinned to
 * CPU 0) runs for the whole part and reports its progress after every pass (10–30 ms), while the
 * collector is switched in short windows: alone, a rate, alone, the other rate, alone … (the rates
 * in a random order per round). After every switch a settle time is dropped (the collector's
 * start-up: perf events opened, BPF programs loaded and attached; or its shutdown), then the
 * bandwidth is measured over a window from the workload's own reports. Each rate window is
 * compared with the geometric mean of the alone windows just before and after it, which cancels a
 * drift that is linear over those seconds (on a 40 s run alone, such a sandwich varied by σ 2.4 %
 * against 4.1 % for adjacent pairs); neighbouring ratios share an alone window, so the interval is
 * a moving-block bootstrap over runs of three ratios.
 *
 * Why a small C loop and not sysbench memory / stress-ng / hpcc: none of them reports progress more
 * often than once a second, and a window must be short for the drift to cancel. The triad is
 * STREAM's own kernel; the arrays (3 × `mib` MiB) are compared with the last-level cache and the
 * bandwidth is printed, so its being memory-bound can be checked in the output.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../collectors/ebpf/locate.js';
import type { Collector } from './observer-collector.js';
import { mean, noiseLine, slowdownLine } from './observer-stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

/** One progress line of the workload: monotonic time (ns), its own CPU time (ns), bytes moved so far. */
export interface Report {
  t: number;
  cpu: number;
  bytes: number;
}

export function parseReports(text: string): Report[] {
  const out: Report[] = [];
  for (const line of text.split('\n')) {
    const [t, cpu, bytes] = line.split(' ').map(Number);
    if (bytes !== undefined && Number.isFinite(bytes)) out.push({ t: t!, cpu: cpu!, bytes });
  }
  return out;
}

/**
 * The workload's bandwidth inside [from, to] (monotonic ns): bytes between its first and last report
 * in the window over the wall time and over its own CPU time between them; null with fewer than
 * three reports in the window (too short to measure).
 */
export function windowRate(reports: readonly Report[], from: number, to: number): { perSecond: number; perCpuSecond: number } | null {
  let first: Report | undefined;
  let last: Report | undefined;
  let n = 0;
  for (const r of reports) {
    if (r.t < from) continue;
    if (r.t > to) break;
    first ??= r;
    last = r;
    n++;
  }
  if (n < 3 || !first || !last || last.cpu <= first.cpu) return null;
  const bytes = last.bytes - first.bytes;
  return { perSecond: (bytes / (last.t - first.t)) * 1e9, perCpuSecond: (bytes / (last.cpu - first.cpu)) * 1e9 };
}

/** The last-level cache of CPU 0 in bytes, from sysfs (null when it does not say). */
function lastLevelCache(): number | null {
  const base = '/sys/devices/system/cpu/cpu0/cache';
  let best: number | null = null;
  for (let i = 0; existsSync(join(base, `index${i}`)); i++) {
    const size = readFileSync(join(base, `index${i}`, 'size'), 'utf8').trim();
    const m = /^(\d+)([KMG]?)$/.exec(size);
    if (!m) continue;
    const bytes = Number(m[1]) * ({ '': 1, K: 1024, M: MiB, G: 1024 * MiB } as Record<string, number>)[m[2]!]!;
    best = Math.max(best ?? 0, bytes);
  }
  return best;
}

type Condition = 'alone' | number;

export interface MemoryOptions {
  /** Seconds to spend on blocks. */
  budget: number;
  /** Seconds measured per window. */
  window: number;
  /** Seconds dropped after each switch of the collector. */
  settle: number;
  /** MiB per array (three arrays). */
  mib: number;
  rates: readonly number[];
  /** A file to write every window to (JSON lines: block, condition, window and settle rates), for a closer look. */
  dump?: string;
}

/** Runs the memory-bound part and prints its figures. */
export async function memoryPart(collector: Collector, o: MemoryOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-triad-'));
  try {
    const binary = join(dir, 'stream-triad');
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', binary, join(packageRoot(), 'bench', 'stream-triad.c')]);
    const llc = lastLevelCache();
    const load0 = loadavg();
    console.log(`  STREAM triad (memory-bound), one run pinned to CPU 0: 3 arrays × ${o.mib} MiB against a last-level cache of ${llc === null ? 'unknown size' : `${(llc / MiB).toFixed(0)} MiB`}; windows of ${o.window} s after ${o.settle} s of settle per switch, alone and each rate (${o.rates.join(' Hz, ')} Hz, random order per round) in turn, each rate window against the alone windows before and after it, for ${o.budget} s; load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}`);
    const out = join(dir, 'progress');
    const fd = openSync(out, 'w');
    // Its progress goes to a file, read at the end: this process does not wake up per report.
    const workload = spawn('taskset', ['-c', '0', binary, String(o.mib)], { stdio: ['ignore', fd, 'inherit'] });
    closeSync(fd);
    const exited = new Promise<void>((r) => workload.once('exit', () => r()));
    try {
      while (statSync(out).size === 0) {
        if (workload.exitCode !== null) throw new Error(`stream-triad exited with ${workload.exitCode} before its first pass`);
        await sleep(50);
      }
      await sleep(1000); // past its first passes
      // Alone, then each rate in a random order per round, with an alone window after each:
      // A r1 A r2 A r1 A … Each rate window is compared with the two alone windows around it.
      const windows: { round: number; condition: Condition; switched: number; from: number; to: number }[] = [];
      const measure = async (round: number, condition: Condition) => {
        const switched = Number(process.hrtime.bigint());
        await collector.set(condition === 'alone' ? null : condition);
        await sleep(o.settle * 1000);
        const from = Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, as the workload's reports
        await sleep(o.window * 1000);
        windows.push({ round, condition, switched, from, to: Number(process.hrtime.bigint()) });
      };
      const started = performance.now();
      await measure(0, 'alone');
      for (let round = 0; (performance.now() - started) / 1000 < o.budget; round++) {
        const order = [...o.rates];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        for (const hz of order) {
          await measure(round, hz);
          await measure(round, 'alone');
        }
      }
      await collector.set(null);
      workload.kill();
      await exited;
      const reports = parseReports(readFileSync(out, 'utf8'));
      if (o.dump) writeFileSync(o.dump, windows.map((w) => JSON.stringify({ ...w, rate: windowRate(reports, w.from, w.to), settle: windowRate(reports, w.switched, w.from) })).join('\n') + '\n');
      const rates = windows.map((w) => windowRate(reports, w.from, w.to));
      const unusable = rates.filter((r) => r === null).length;
      type Rate = { perSecond: number; perCpuSecond: number };
      // Per rate, in time order: [alone before, with the collector, alone after].
      const sandwiches = new Map<number, [Rate, Rate, Rate][]>(o.rates.map((hz) => [hz, []]));
      for (let i = 1; i + 1 < windows.length; i++) {
        const c = windows[i]!.condition;
        const [before, during, after] = [rates[i - 1], rates[i], rates[i + 1]];
        if (c !== 'alone' && before && during && after) sandwiches.get(c)!.push([before, during, after]);
      }
      const alone = windows.map((w, i) => (w.condition === 'alone' ? rates[i] : null)).filter((r): r is Rate => r !== null && r !== undefined);
      const gib = (x: number) => (x / (1024 * MiB)).toFixed(2);
      const perSecond = alone.map((r) => r.perSecond);
      console.log(`    ${windows.length} windows (${unusable} with too few reports dropped); alone ${gib(mean(perSecond))} GiB/s (windows ${gib(Math.min(...perSecond))}–${gib(Math.max(...perSecond))}), ${gib(mean(alone.map((r) => r.perCpuSecond)))} GiB per CPU second; the workload got ${((mean(alone.map((r) => r.perSecond / r.perCpuSecond))) * 100).toFixed(1)} % of CPU 0`);
      for (const [label, pick] of [
        ['per second (what the experiment sees)', (r: Rate) => r.perSecond],
        ['per CPU second of the workload (its share of CPU 0 left out)', (r: Rate) => r.perCpuSecond],
      ] as const) {
        console.log(`    ${label}:`);
        // Neighbouring ratios share an alone window: a moving-block bootstrap over runs of 3.
        for (const hz of o.rates) console.log(`      ${slowdownLine(hz, sandwiches.get(hz)!.map(([a, x, b]) => Math.sqrt(pick(a) * pick(b)) / pick(x)), 3)}`);
        console.log(`      ${noiseLine(alone.map(pick), 'one rate window apart')}`);
      }
      // What the settle time dropped: the rate during it against the window after it, per condition.
      const settle = (c: Condition) => {
        const r = windows.map((w) => [windowRate(reports, w.switched, w.from), windowRate(reports, w.from, w.to), w.condition] as const).filter(([a, b, cond]) => a && b && cond === c).map(([a, b]) => a!.perSecond / b!.perSecond).sort((x, y) => x - y);
        return r.length > 0 ? r[Math.floor(r.length / 2)]!.toFixed(3) : '-';
      };
      console.log(`    transitions (dropped): median rate during the settle time / in the window after it, per second: switched to alone ${settle('alone')}, ${o.rates.map((hz) => `to ${hz} Hz ${settle(hz)}`).join(', ')}`);
      console.log(`    ${((performance.now() - started) / 1000).toFixed(0)} s; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    } finally {
      if (workload.exitCode === null) workload.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
