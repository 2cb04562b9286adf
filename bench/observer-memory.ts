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
import type { Collector, Condition } from './observer-collector.js';
import { mean, noiseLine, ratioLine } from './observer-stats.js';
import { ratioStats } from './ratio-stats.js';

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

/**
 * Compiles bench/stream-triad.c into `dir` and starts it pinned to CPU 0 with arrays of `mib` MiB,
 * its progress going to a file read at the end (this process does not wake up per report); resolves
 * a second after its first pass. `stop()` ends it and returns its reports (again: the same ones).
 */
export async function startTriad(dir: string, mib: number): Promise<{ stop(): Promise<Report[]> }> {
  const binary = join(dir, 'stream-triad');
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', binary, join(packageRoot(), 'bench', 'stream-triad.c')]);
  const out = join(dir, 'progress');
  const fd = openSync(out, 'w');
  const workload = spawn('taskset', ['-c', '0', binary, String(mib)], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const exited = new Promise<void>((r) => workload.once('exit', () => r()));
  let reports: Report[] | null = null;
  const stop = async () => {
    if (reports) return reports;
    if (workload.exitCode === null) workload.kill();
    await exited;
    reports = parseReports(readFileSync(out, 'utf8'));
    return reports;
  };
  try {
    while (statSync(out).size === 0) {
      if (workload.exitCode !== null) throw new Error(`stream-triad exited with ${workload.exitCode} before its first pass`);
      await sleep(50);
    }
    await sleep(1000); // past its first passes
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** The last-level cache of CPU 0 in bytes, from sysfs (null when it does not say). */
export function lastLevelCache(): number | null {
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


export interface MemoryOptions {
  /** Seconds to spend on blocks. */
  budget: number;
  /** Seconds measured per window. */
  window: number;
  /** Seconds dropped after each switch of the collector. */
  settle: number;
  /** MiB per array (three arrays). */
  mib: number;
  /** The collector's conditions besides alone (a rate, with its threads anywhere or on housekeeping CPUs). */
  conditions: readonly Condition[];
  /**
   * How the collector is switched between windows. restart: stopped and started (alone = no perf
   * event open, no BPF program attached; a start or stop takes 40–150 ms, so the settle is long);
   * pause: started once per segment and its process stopped and continued (SIGSTOP/SIGCONT), which
   * takes effect at once and allows short windows, but leaves its in-kernel part (counting, BPF
   * programs) running in the alone windows too.
   */
  switching: 'restart' | 'pause';
  /** With pause: seconds at one rate before the collector is restarted at the next. */
  segment: number;
  /** A file to write every window to (JSON lines: block, condition, window and settle rates), for a closer look. */
  dump?: string;
}

/** One measured window of the memory part. */
export interface Window {
  round: number;
  /** The segment (pause mode: one condition, its collector started once) it belongs to; -1 in restart mode. */
  segment: number;
  condition: string;
  switched: number;
  from: number;
  to: number;
  collectorCpuNs: number;
}

/**
 * Per segment of `condition`: the geometric mean of its alone windows' rates over that of its
 * collector windows (a slowdown, 1.00 = no effect), from the windows and their rates (same order).
 */
export function segmentRatios(windows: readonly Window[], rates: readonly ({ perSecond: number; perCpuSecond: number } | null)[], condition: string, pick: (r: { perSecond: number; perCpuSecond: number }) => number): number[] {
  const bySegment = new Map<number, { alone: number[]; with: number[] }>();
  windows.forEach((w, i) => {
    const r = rates[i];
    if (w.segment < 0 || !r) return;
    const s = bySegment.get(w.segment) ?? { alone: [], with: [] };
    bySegment.set(w.segment, s);
    if (w.condition === 'alone') s.alone.push(Math.log(pick(r)));
    else if (w.condition === condition) s.with.push(Math.log(pick(r)));
  });
  return [...bySegment.values()].filter((s) => s.with.length > 0 && s.alone.length > 1).map((s) => Math.exp(mean(s.alone) - mean(s.with)));
}

/** Runs the memory-bound part and prints its figures. */
export async function memoryPart(collector: Collector, o: MemoryOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-triad-'));
  try {
    const llc = lastLevelCache();
    const load0 = loadavg();
    const how = o.switching === 'restart' ? 'the collector stopped and started per switch' : `the collector's process stopped and continued per switch (SIGSTOP/SIGCONT; restarted in the next condition every ${o.segment} s)`;
    const labels = o.conditions.map((c) => c.label);
    console.log(`  STREAM triad (memory-bound), one run pinned to CPU 0: 3 arrays × ${o.mib} MiB against a last-level cache of ${llc === null ? 'unknown size' : `${(llc / MiB).toFixed(0)} MiB`}; windows of ${o.window} s after ${o.settle} s of settle per switch, ${how}, alone and each condition (${labels.join(', ')}; random order per round) in turn, each condition's window against the alone windows before and after it, for ${o.budget} s; load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}`);
    const triad = await startTriad(dir, o.mib);
    try {
      // Alone, then each condition in a random order per round, with an alone window after each:
      // A c1 A c2 A c1 A … Each condition's window is compared with the two alone windows around it.
      const windows: Window[] = [];
      let segment = -1; // pause mode: which segment a window belongs to (restart mode: -1)
      /** The collector's CPU time and wall time running without a pause (pause mode), to compare its running windows with. */
      const continuous = new Map<string, { cpuNs: number; wallNs: number }>(labels.map((l) => [l, { cpuNs: 0, wallNs: 0 }]));
      const measure = async (round: number, c: Condition | null) => {
        const switched = Number(process.hrtime.bigint());
        if (o.switching === 'restart') {
          if (c !== null) await collector.affinity(c.cpus);
          await collector.set(c?.hz ?? null);
        } else if (c === null) collector.pause();
        else collector.resume();
        await sleep(o.settle * 1000);
        const from = Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, as the workload's reports
        const cpu0 = collector.cpuNs();
        await sleep(o.window * 1000);
        windows.push({ round, segment, condition: c?.label ?? 'alone', switched, from, to: Number(process.hrtime.bigint()), collectorCpuNs: collector.cpuNs() - cpu0 });
      };
      const started = performance.now();
      const elapsed = () => (performance.now() - started) / 1000;
      if (o.switching === 'restart') await measure(0, null);
      for (let round = 0; elapsed() < o.budget; round++) {
        const order = [...o.conditions];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        for (const c of order) {
          if (o.switching === 'restart') {
            await measure(round, c);
            await measure(round, null);
            continue;
          }
          // A segment in this condition: started (past its start-up), then paused and continued in
          // turn, beginning and ending paused so that no sandwich spans a restart.
          await collector.set(null);
          await collector.affinity(c.cpus);
          await collector.set(c.hz);
          await sleep(500);
          segment++;
          const segmentStart = elapsed();
          await measure(round, null);
          while (elapsed() - segmentStart < o.segment && elapsed() < o.budget) {
            await measure(round, c);
            await measure(round, null);
          }
          // One second running without a pause, at the end of the segment (past the start-up): what
          // the collector costs per second when it is not switched.
          collector.resume();
          await sleep(o.settle * 1000); // past the catch-up after the continue, as the windows are
          const [c0, t0] = [collector.cpuNs(), process.hrtime.bigint()];
          await sleep(1000);
          continuous.get(c.label)!.cpuNs += collector.cpuNs() - c0;
          continuous.get(c.label)!.wallNs += Number(process.hrtime.bigint() - t0);
        }
      }
      await collector.set(null);
      const reports = await triad.stop();
      if (o.dump) writeFileSync(o.dump, windows.map((w) => JSON.stringify({ ...w, rate: windowRate(reports, w.from, w.to), settle: windowRate(reports, w.switched, w.from) })).join('\n') + '\n');
      const rates = windows.map((w) => windowRate(reports, w.from, w.to));
      const unusable = rates.filter((r) => r === null).length;
      type Rate = { perSecond: number; perCpuSecond: number };
      // Per condition, in time order: [alone before, with the collector, alone after].
      const sandwiches = new Map<string, [Rate, Rate, Rate][]>(labels.map((l) => [l, []]));
      for (let i = 1; i + 1 < windows.length; i++) {
        const c = windows[i]!.condition;
        const [before, during, after] = [rates[i - 1], rates[i], rates[i + 1]];
        if (c !== 'alone' && windows[i - 1]!.condition === 'alone' && windows[i + 1]!.condition === 'alone' && before && during && after) sandwiches.get(c)!.push([before, during, after]);
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
        for (const c of o.conditions) console.log(`      ${ratioLine(`collector ${c.label.padStart(6)}: slowdown`, sandwiches.get(c.label)!.map(([a, x, b]) => Math.sqrt(pick(a) * pick(b)) / pick(x)), 3, c.hz === 10)}`);
        // A second interval, from whole segments: neighbouring windows share flicker noise that a
        // bootstrap over windows may not see; segments are far enough apart to count as independent.
        if (o.switching === 'pause') {
          for (const c of o.conditions) {
            const ratios = segmentRatios(windows, rates, c.label, pick);
            if (ratios.length < 2) continue;
            const r = ratioStats(ratios);
            console.log(`      whole segments, collector ${c.label}: ${r.geo.toFixed(4)}×, 95 % CI [${r.lo.toFixed(4)}, ${r.hi.toFixed(4)}] (±${(((r.hi - r.lo) / 2) * 100).toFixed(2)} %), ${ratios.length} segments of ${o.segment} s (each its alone windows against its collector windows; Student's t)`);
          }
        }
        console.log(`      ${noiseLine(alone.map(pick), 'one condition window apart')}`);
      }
      // What the settle time dropped: the rate during it against the window after it, per condition.
      const settle = (c: string) => {
        const r = windows.map((w) => [windowRate(reports, w.switched, w.from), windowRate(reports, w.from, w.to), w.condition] as const).filter(([a, b, cond]) => a && b && cond === c).map(([a, b]) => a!.perSecond / b!.perSecond).sort((x, y) => x - y);
        return r.length > 0 ? r[Math.floor(r.length / 2)]!.toFixed(3) : '-';
      };
      // The collector's own CPU per second inside the windows: a switched collector must work as it does unswitched.
      const cpuPerSecond = (c: string) => {
        const ws = windows.filter((w) => w.condition === c);
        return (ws.reduce((a, w) => a + w.collectorCpuNs, 0) / ws.reduce((a, w) => a + (w.to - w.from), 0)) * 1000; // ms per s
      };
      console.log(`    the collector's CPU inside the windows: alone ${cpuPerSecond('alone').toFixed(2)} ms/s, ${labels.map((l) => { const c = continuous.get(l)!; return `${l} ${cpuPerSecond(l).toFixed(2)} ms/s${c.wallNs > 0 ? ` (running without a pause: ${((c.cpuNs / c.wallNs) * 1000).toFixed(2)} ms/s, 1 s at the end of each segment)` : ''}`; }).join(', ')}`);
      console.log(`    transitions (dropped): median rate during the settle time / in the window after it, per second: switched to alone ${settle('alone')}, ${labels.map((l) => `to ${l} ${settle(l)}`).join(', ')}`);
      console.log(`    ${((performance.now() - started) / 1000).toFixed(0)} s; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    } finally {
      await triad.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
