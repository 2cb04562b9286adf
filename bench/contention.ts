/**
 * A pinned busy "workload" and, on demand, real stress-ng contending for its CPU, for the alerts
 * test and bench. Both run in one new session, hence one scheduler autogroup of their own (with
 * sched_autogroup on, CPU time is shared between sessions first and nice only acts inside one);
 * the group gets autogroup nice -15, so the other work on the machine takes little from the
 * workload, while stress-ng, inside the group at the same nice, takes its equal share. The workload
 * alone sits in a cgroup of the perf_event hierarchy, so perf can count exactly it. Needs root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseCgroupMounts, perfEventMount } from '../collectors/perf/cgroup.js';

/** The cgroup hierarchy perf counts in (v1 perf_event, else v2), as the perf source resolves it. */
export function perfCgroupRoot(): string {
  const mount = perfEventMount(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')));
  if (!mount) throw new Error('no cgroup hierarchy with the perf_event controller is mounted (neither v1 perf_event nor cgroup2); the alerts run tests and bench need one');
  return mount.mountpoint;
}
/** The autogroup nice of the workload's session. */
const AUTOGROUP_NICE = -15;

export class Contention {
  private launcher: ChildProcess | null = null;
  private workloadPid = 0;
  private stressing = false;

  /** @param cgroup name of the cgroup created for the workload under the perf_event hierarchy. */
  private readonly root = perfCgroupRoot();

  constructor(readonly cgroup: string, readonly cpu = 0) {}

  get pid(): number {
    return this.workloadPid;
  }

  /** Starts the workload (pinned to `cpu`, in its cgroup) and returns its pid. */
  async start(): Promise<number> {
    mkdirSync(join(this.root, this.cgroup));
    // The launcher is the session leader: it starts the workload, prints its pid, then waits for a
    // line on stdin and becomes stress-ng (pinned to the same CPU), in the same autogroup.
    const script = `taskset -c ${this.cpu} sh -c 'while :; do :; done' & echo $!; read go; exec stress-ng "$@"`;
    this.launcher = spawn('sh', ['-c', script, 'launcher', '--cpu', '2', '--taskset', String(this.cpu), '--timeout', '60s', '--quiet'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: this.launcher!.stdout! }).once('line', resolve);
      this.launcher!.once('exit', (code) => reject(new Error(`the workload launcher exited (${code}) before starting the workload`)));
    });
    this.workloadPid = Number(line.trim());
    writeFileSync(`/proc/${this.launcher.pid}/autogroup`, String(AUTOGROUP_NICE));
    writeFileSync(join(this.root, this.cgroup, 'cgroup.procs'), String(this.workloadPid));
    return this.workloadPid;
  }

  /** Starts stress-ng on the workload's CPU. */
  stress(): void {
    if (!this.launcher || this.stressing) return;
    this.stressing = true;
    this.launcher.stdin!.write('go\n');
  }

  /** Stops stress-ng (the workload goes on). */
  async calm(): Promise<void> {
    if (!this.launcher || !this.stressing) return;
    await killAndWait(this.launcher);
    this.launcher = null;
  }

  /** Stops everything this started (by pid) and removes the cgroup. */
  async stop(): Promise<void> {
    if (this.launcher) await killAndWait(this.launcher);
    this.launcher = null;
    if (this.workloadPid > 0) {
      try { process.kill(this.workloadPid, 'SIGKILL'); } catch { /* already gone */ }
      for (let i = 0; i < 100 && alive(this.workloadPid); i++) await new Promise((r) => setTimeout(r, 10));
      this.workloadPid = 0;
    }
    // The killed workload leaves the cgroup once it is reaped: retry the removal for a moment.
    for (let i = 0; i < 200; i++) {
      try {
        rmdirSync(join(this.root, this.cgroup));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    throw new Error(`cannot remove the cgroup ${join(this.root, this.cgroup)}: it stayed busy for 2 s after the workload was killed`);
  }
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
