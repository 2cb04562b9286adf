import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { SourceSample } from '../source.js';
import { parseCgroupMounts, perfEventMount } from './cgroup.js';
import { perfConfigSchema } from './config.js';
import { isRoot, perfCapability, skipForMissingCapability } from './kernel-gate.js';
import { PerfSource } from './perf.js';
import { processCpuSeconds } from './testing.js';
import { onlineCpus } from './targets.js';

const capability = perfCapability();

/**
 * A cpuset cgroup that pins its tasks to one CPU: in a v1 cpuset hierarchy when the machine has
 * one (hybrid systems), else in the v2 perf hierarchy itself when cpuset is delegated there.
 */
function cpusetFor(name: string, cpu: number, perfDir: string): { dir: string; remove: () => void } | null {
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  const v1 = mounts.find((m) => m.version === 1 && m.controllers.includes('cpuset'));
  if (v1) {
    const dir = `${v1.mountpoint}/${name}`;
    mkdirSync(dir);
    writeFileSync(`${dir}/cpuset.cpus`, String(cpu));
    writeFileSync(`${dir}/cpuset.mems`, readFileSync(`${v1.mountpoint}/cpuset.mems`, 'utf8').trim());
    return { dir, remove: () => rmdirSync(dir) };
  }
  if (existsSync(`${perfDir}/cpuset.cpus`)) {
    writeFileSync(`${perfDir}/cpuset.cpus`, String(cpu));
    return { dir: perfDir, remove: () => undefined };
  }
  return null;
}

const sumOf = (xs: SourceSample[], cgroup: string, cpu?: number) =>
  xs.filter((s) => s.metric === 'task-clock' && s.cgroup === cgroup && (cpu === undefined || s.cpu === cpu)).reduce((a, s) => a + s.value, 0);

describe('perf source per cgroup', () => {
  it('counts a busy process pinned in one cgroup there, on its CPU, and nothing in its sibling', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    if (!isRoot()) skipForMissingCapability(ctx.skip, 'creating cgroups needs root');
    const perfMount = perfEventMount(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')));
    if (!perfMount) skipForMissingCapability(ctx.skip, 'no cgroup hierarchy holds the perf_event controller');

    const name = `isoscope-test-${process.pid}`;
    const parent = `${perfMount.mountpoint}/${name}`;
    const [busy, idle] = [`${parent}/busy`, `${parent}/idle`];
    const cpus = await onlineCpus('/sys');
    const pinned = cpus[cpus.length - 1]!;
    const cleanup: (() => void)[] = [];
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    cleanup.push(() => child.kill('SIGKILL'));
    try {
      for (const dir of [parent, busy, idle]) {
        mkdirSync(dir);
        cleanup.unshift(() => rmdirSync(dir));
      }
      const cpuset = cpusetFor(name, pinned, busy);
      if (cpuset) {
        cleanup.unshift(cpuset.remove);
        writeFileSync(`${cpuset.dir}/cgroup.procs`, String(child.pid));
      }
      writeFileSync(`${busy}/cgroup.procs`, String(child.pid));

      const source = new PerfSource(perfConfigSchema.parse({ events: ['task-clock', 'context-switches'], scope: { kind: 'cgroup', paths: [`${name}/busy`, `${name}/idle`] } }));
      await source.start();
      cleanup.unshift(() => void source.shutdown());
      const cpu0 = processCpuSeconds(child.pid!);
      const t0 = process.hrtime.bigint();
      await sleep(1500);
      const out = await source.read();
      const wallNs = Number(process.hrtime.bigint() - t0);
      const cpu = processCpuSeconds(child.pid!) - cpu0;

      const label = `${perfMount.root === '/' ? '' : perfMount.root}/${name}`;
      const busyNs = sumOf(out, `${label}/busy`);
      expect(out.filter((s) => s.cgroup === `${label}/busy` && s.metric === 'task-clock').map((s) => s.cpu).sort()).toEqual(cpus);
      // The cgroup's count is its one task's CPU time (the kernel's 10 ms ticks), whatever share of the CPU
      // the task got: at a CI load of 30-45 on 2 CPUs a spinning child gets a few percent of one.
      expect(cpu, `the child ran ${cpu.toFixed(3)} CPU-s in ${(wallNs / 1e9).toFixed(2)} s`).toBeGreaterThan(0.03);
      expect(Math.abs(busyNs / 1e9 - cpu)).toBeLessThan(0.05 * cpu + 0.03);
      expect(busyNs / wallNs).toBeLessThan(1.05); // and on one CPU at a time
      if (cpuset) expect(sumOf(out, `${label}/busy`, pinned) / busyNs).toBeGreaterThan(0.99);
      expect(sumOf(out, `${label}/idle`)).toBe(0);
      expect(out.filter((s) => s.cgroup === `${label}/idle`).length).toBe(2 * cpus.length); // reported, as exact zeros
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      for (const step of cleanup) {
        try {
          step();
        } catch (err) {
          process.stderr.write(`cgroup test clean-up step failed: ${(err as Error).message}\n`);
        }
      }
    }
    expect(existsSync(parent)).toBe(false);
  });
});
