/**
 * `isoscope testbed down`: removes what the plan says `up` made, newest first, after stopping every
 * process inside the testbed's namespaces (sshd sessions, mpirun daemons, relays, workloads). Each
 * removal tolerates an already-removed resource, so `down` is idempotent and finishes the job of an
 * interrupted `down` or cleans up after a half-failed `up`. What it could not remove stays in the
 * plan and is named in the error.
 */
import { existsSync, rmSync } from 'node:fs';
import { planPath, readPlan, writePlan, type Resource, type TestbedPlan } from './plan.js';
import { alive, processStartTime, requireRoot, run, stopProcess } from './system.js';

export interface DownResult {
  /** False when there was no testbed in the directory. */
  found: boolean;
  removed: string[];
}

export async function testbedDown(dir: string, log: (line: string) => void = () => undefined): Promise<DownResult> {
  const plan = readPlan(dir);
  if (!plan) return { found: false, removed: [] };
  requireRoot('down');
  const removed: string[] = [];
  const failed: { r: Resource; err: string }[] = [];

  // Everything running inside a node namespace belongs to the testbed, whoever started it.
  for (const r of plan.resources) {
    if (r.kind !== 'netns') continue;
    for (const pid of await netnsPids(r.name)) {
      const st = processStartTime(pid);
      if (st === null) continue;
      await stopProcess(pid, st).then(() => removed.push(`process ${pid} in ${r.name}`), (err: Error) => failed.push({ r, err: `process ${pid}: ${err.message}` }));
    }
  }
  for (const r of [...plan.resources].reverse()) {
    try {
      if (await remove(r)) removed.push(describe(r));
    } catch (err) {
      failed.push({ r, err: (err as Error).message });
    }
  }
  if (failed.length) {
    const keep = new Set(failed.map((f) => f.r));
    const rest: TestbedPlan = { ...plan, complete: false, resources: plan.resources.filter((r) => keep.has(r)) };
    if (existsSync(plan.dir)) writePlan(rest);
    throw new Error(`testbed down: could not remove ${failed.map((f) => `${describe(f.r)} (${f.err})`).join('; ')}; they stay in ${planPath(plan.dir)} for the next \`down\``);
  }
  rmSync(planPath(plan.dir), { force: true });
  for (const line of removed) log(`removed ${line}`);
  return { found: true, removed };
}

async function netnsPids(name: string): Promise<number[]> {
  if (!existsSync(`/run/netns/${name}`)) return [];
  const r = await run(['ip', 'netns', 'pids', name]);
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid) : [];
}

/** Removes one resource; false when it was gone already. */
async function remove(r: Resource): Promise<boolean> {
  switch (r.kind) {
    case 'process': {
      if (!alive(r.pid, r.startTime)) return false;
      await stopProcess(r.pid, r.startTime);
      return true;
    }
    case 'uts': {
      if (!existsSync(r.path)) return false;
      const u = await run(['umount', r.path]);
      if (u.code !== 0 && !/not mounted|no mount point/i.test(u.stderr)) throw new Error(`umount ${r.path}: ${u.stderr.trim()}`);
      rmSync(r.path, { force: true });
      return true;
    }
    case 'veth':
    case 'bridge': {
      const d = await run(['ip', 'link', 'delete', r.name]);
      if (d.code === 0) return true;
      if (/cannot find device|does not exist/i.test(d.stderr)) return false;
      throw new Error(d.stderr.trim());
    }
    case 'netns': {
      if (!existsSync(`/run/netns/${r.name}`)) return false;
      const d = await run(['ip', 'netns', 'delete', r.name]);
      if (d.code !== 0 && existsSync(`/run/netns/${r.name}`)) throw new Error(d.stderr.trim());
      return true;
    }
    case 'dir': {
      if (!existsSync(r.path)) return false;
      rmSync(r.path, { recursive: true, force: true });
      return true;
    }
  }
}

function describe(r: Resource): string {
  switch (r.kind) {
    case 'process': return `${r.what} (pid ${r.pid})`;
    case 'uts': return `UTS namespace ${r.path}`;
    case 'veth': return `veth ${r.name}`;
    case 'bridge': return `bridge ${r.name}`;
    case 'netns': return `network namespace ${r.name}`;
    case 'dir': return r.path;
  }
}
