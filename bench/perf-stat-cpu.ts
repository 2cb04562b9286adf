/**
 * `perf stat -a -I` as the reference the collector's cost is judged by, measured the way the
 * collector is: running, past its start-up, over a window. It runs in a cgroup v2 of its own and its
 * CPU is that cgroup's `usage_usec` (µs, every thread and child), read at the window's two ends.
 *
 * Why not "a run of N seconds minus a run that ends at once" (what the benches did): at 10 Hz perf
 * stat uses 1–2 ms of CPU per second, so a 5 s run holds 5–10 ms, and its start-up (parsing events,
 * reading tracepoint formats, opening 11 events on every CPU) is itself several ms that vary from
 * run to run; the difference of two such numbers scattered the 10 Hz ratio by 2× between rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { findCgroup2Root } from '../collectors/ebpf/decoders.js';
import { sleep } from '../core/backoff.js';

/** A running `perf stat -a -I`, its CPU readable at any moment. */
export interface PerfStatRunning {
  /** CPU seconds (user + system) it has used so far, every thread and child. */
  cpuSeconds(): number;
  /** Stops it (SIGINT, as a user would) and removes its cgroup. */
  stop(): Promise<void>;
}

/**
 * Starts `perf stat -a -I <1000/hz> -e <events>` counting every CPU, in a cgroup of its own, and
 * resolves after `settleMs` (past its start-up). Throws when there is no cgroup v2 with cpu.stat
 * (needs root) or when perf stat exits early (with what it printed).
 */
export async function startPerfStat(hz: number, events: readonly string[], settleMs = 1000): Promise<PerfStatRunning> {
  let root: string | null = null;
  try {
    root = findCgroup2Root('/proc/self/mountinfo');
  } catch {
    // reported below
  }
  if (root === null) throw new Error('perf stat is measured from a cgroup v2 of its own, and this machine has no cgroup v2 hierarchy');
  const cg = `${root}/isoscope-bench-perfstat-${process.pid}-${Date.now().toString(36)}`;
  mkdirSync(cg);
  if (!existsSync(`${cg}/cpu.stat`)) {
    rmdirSync(cg);
    throw new Error(`no cpu.stat in the cgroup v2 ${cg}`);
  }
  // The shell moves itself into the cgroup and becomes perf stat (exec): nothing of it runs outside.
  // The workload is a sleep that outlives any window; stop() ends both.
  const child = spawn('bash', ['-c', `echo $$ > ${cg}/cgroup.procs && exec perf stat -a -I ${Math.round(1000 / hz)} -x, -o /dev/null -e ${events.join(',')} -- sleep 100000`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const usage = () => Number(/^usage_usec (\d+)$/m.exec(readFileSync(`${cg}/cpu.stat`, 'utf8'))![1]) / 1e6;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await Promise.race([exited, sleep(5000)]);
    await emptyAndRemove(cg, child);
  };
  await sleep(settleMs);
  if (child.exitCode !== null) {
    await stop();
    throw new Error(`perf stat exited with ${child.exitCode} during its start-up: ${err.trim().split('\n').slice(-3).join(' / ')}`);
  }
  return { cpuSeconds: usage, stop };
}

/** Kills whatever is left in the cgroup (perf stat's sleep) and removes it. */
async function emptyAndRemove(cg: string, child: ChildProcess): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const pids = readFileSync(`${cg}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) {
      rmdirSync(cg);
      return;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await sleep(20);
  }
  throw new Error(`could not empty the cgroup ${cg} (perf stat pid ${child.pid})`);
}

/** perf stat's CPU seconds per wall second over a window of `seconds`, past its start-up. */
export async function perfStatCpuPerSecond(hz: number, seconds: number, events: readonly string[]): Promise<number> {
  const perf = await startPerfStat(hz, events);
  try {
    const c0 = perf.cpuSeconds();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    return (perf.cpuSeconds() - c0) / ((performance.now() - t0) / 1000);
  } finally {
    await perf.stop();
  }
}
