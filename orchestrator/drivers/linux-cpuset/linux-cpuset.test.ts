import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../transport/local.js';
import { SshTransport } from '../../transport/ssh.js';
import type { NodeTransport } from '../../transport/transport.js';
import { sshTransportOptions, startSshd, type TestSshd } from '../../../test/sshd.js';
import { uniqueName } from '../../../test/services.js';
import type { DriverContext, PartitionSpec } from '../driver.js';
import { cgroupMounts } from './hierarchy.js';
import { parseCgroupMounts, perfEventMount } from '../../../collectors/perf/cgroup.js';
import { LinuxCpusetDriver, type CpusetHandle } from './linux-cpuset.js';
import { partitionCgroup } from '../cgroup-path.js';

const ctx: DriverContext = { experiment: 'driver-test', run: `driver-test.${process.pid}`, log: () => {}, siblings: new Map() };
const mounts = readFileSync('/proc/mounts', 'utf8');
const { v1Cpuset, v2 } = cgroupMounts(mounts);
const v2WithCpuset = v2.filter((m) => {
  try { return readFileSync(`${m}/cgroup.controllers`, 'utf8').split(/\s+/).includes('cpuset'); } catch { return false; }
});
const lastCpu = (() => { const l = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(); return l.split(/[-,]/).pop()!; })();

function versions(): (1 | 2)[] {
  const out: (1 | 2)[] = [];
  if (v1Cpuset.length) out.push(1);
  else console.log('linux-cpuset v1 tests skipped: this machine has no cgroup v1 cpuset mount');
  if (v2WithCpuset.length) out.push(2);
  else console.log(`linux-cpuset v2 tests skipped: no cgroup2 mount here has the cpuset controller (cgroup2 mounts: ${v2.join(', ') || 'none'}; on this machine cpuset is bound to the v1 hierarchy, and a controller can only be in one)`);
  return out;
}

/** Dead: no such process, or a zombie waiting for a parent that never reaps (PID 1 in containers). */
function gone(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

const spec = (over: Partial<PartitionSpec> = {}): PartitionSpec => ({ name: uniqueName('p'), driver: 'linux-cpuset', cpus: lastCpu, memMb: 0, ...over });

describe.skipIf(process.getuid?.() !== 0)('linux-cpuset driver on this kernel (needs root)', () => {
  let sshd: TestSshd;
  let ssh: SshTransport;
  const local = new LocalTransport({ node: 'local' });
  beforeAll(async () => {
    sshd = await startSshd();
    ssh = new SshTransport(sshTransportOptions(sshd, 'sshnode'));
    await ssh.start();
  });
  afterAll(async () => {
    await ssh?.shutdown();
    await sshd?.stop();
  });

  for (const version of versions()) {
    for (const via of ['local', 'ssh'] as const) {
      it(`v${version} over ${via}: creates, places processes, kills leftovers and removes`, async () => {
        const node: NodeTransport = via === 'local' ? local : ssh;
        const driver = new LinuxCpusetDriver(version);
        const state = await driver.create(node, spec(), ctx);
        const { path } = state.handle as CpusetHandle;
        expect(state).toMatchObject({ node: node.node, driver: 'linux-cpuset', cpus: lastCpu, numa: expect.stringMatching(/^\d/) });
        const rel = partitionCgroup({ experiment: ctx.experiment, run: ctx.run, node: node.node, partition: state.name });
        expect(path).toMatch(new RegExp(`/isoscope/driver-test-[0-9a-f]{8}/${node.node}-p-`));
        expect(path.endsWith(`/${rel}`)).toBe(true);
        expect(readFileSync(`${path}/cpuset.cpus`, 'utf8').trim()).toBe(lastCpu);
        const inside = await node.exec(driver.wrap(state, ['sh', '-c', 'grep Cpus_allowed_list /proc/self/status; cat /proc/self/cgroup', '$(echo hostile)']));
        expect(inside.code).toBe(0);
        expect(inside.stdout).toMatch(new RegExp(`Cpus_allowed_list:\\s+${lastCpu}\\n`));
        expect(inside.stdout).toContain(`/${rel}\n`);
        // The partition is in the perf_event hierarchy too (its own cgroup there when that is another hierarchy), and measureScope names it.
        const { perfPath } = state.handle as CpusetHandle;
        const perfMount = perfEventMount(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')))!.mountpoint;
        expect(driver.measureScope(state).cgroups).toEqual([perfPath ?? path]);
        if (version === 1 && !path.startsWith(perfMount)) {
          expect(perfPath).toBe(`${perfMount}/${rel}`);
          expect(inside.stdout).toMatch(new RegExp(`:${(perfPath!.slice(perfMount.length)).replace(/[.]/g, '\\.')}\\n`));
        }

        // A leftover task (e.g. a crashed workload's child) is killed by destroy.
        const bg = await node.exec(['sh', '-c', `${driver.wrap(state, ['sleep', '300']).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')} >/dev/null 2>&1 & echo $!`]);
        const pid = Number(bg.stdout.trim());
        for (let i = 0; i < 50 && !readFileSync(`${path}/cgroup.procs`, 'utf8').includes(String(pid)); i++) await new Promise((r) => setTimeout(r, 20));
        expect(readFileSync(`${path}/cgroup.procs`, 'utf8')).toContain(String(pid));
        await driver.destroy(node, state, ctx);
        expect(existsSync(path)).toBe(false);
        if (perfPath) expect(existsSync(perfPath)).toBe(false);
        // The run's directory went with its only partition; the shared root stays.
        expect(existsSync(dirname(path))).toBe(false);
        if (perfPath) expect(existsSync(dirname(perfPath))).toBe(false);
        expect(existsSync(dirname(dirname(path)))).toBe(true);
        expect(gone(pid)).toBe(true);
        await driver.destroy(node, state, ctx); // idempotent
      });
    }

    it(`v${version}: refuses cpus the node does not have, leaving nothing behind`, async () => {
      const driver = new LinuxCpusetDriver(version);
      const s = spec({ cpus: '4000' });
      await expect(driver.create(local, s, ctx)).rejects.toThrow(new RegExp(`partition ${s.name} on node local: writing "4000" to .*cpuset.cpus failed`));
      const root = version === 1 ? v1Cpuset[0]! : v2WithCpuset[0]!;
      const rel = partitionCgroup({ experiment: ctx.experiment, run: ctx.run, node: 'local', partition: s.name });
      expect(existsSync(`${root}/${rel}`)).toBe(false);
      expect(existsSync(dirname(`${root}/${rel}`))).toBe(false); // nor the run's directory
    });

    it(`v${version}: two experiments at once with the same node and partition names each get their own cgroups, both removed`, async () => {
      // Two orchestrators (one driver each), same node name, same partition names, different experiments.
      const node = new LocalTransport({ node: 'twin' });
      const runs = [
        { experiment: 'exp A', run: `exp A.shared.n1.bg.r0.${process.pid}` }, // a name needing sanitizing
        { experiment: 'exp-b', run: `exp-b.shared.n1.bg.r0.${process.pid}` },
      ];
      const states = await Promise.all(runs.map(async (r) => {
        const driver = new LinuxCpusetDriver(version);
        const c: DriverContext = { ...r, log: () => {}, siblings: new Map() };
        const made = [];
        for (const name of ['app', 'noise']) made.push(await driver.create(node, spec({ name }), c));
        return { driver, c, made };
      }));
      const paths = states.flatMap((s) => s.made.map((m) => (m.handle as CpusetHandle).path));
      expect(new Set(paths).size).toBe(4);
      for (const [i, r] of runs.entries()) {
        for (const m of states[i]!.made) {
          const rel = partitionCgroup({ ...r, node: 'twin', partition: m.name });
          expect(rel).toMatch(new RegExp(`^isoscope/${i === 0 ? 'exp-A' : 'exp-b'}-[0-9a-f]{8}/twin-${m.name}$`));
          // A process wrapped into each is in that experiment's cgroup and nowhere else.
          const inside = await node.exec(states[i]!.driver.wrap(m, ['cat', '/proc/self/cgroup']));
          expect(inside.code).toBe(0);
          expect(inside.stdout).toContain(`/${rel}\n`);
        }
      }
      // A's teardown leaves B's partitions alone.
      for (const m of [...states[0]!.made].reverse()) await states[0]!.driver.destroy(node, m, states[0]!.c);
      for (const m of states[0]!.made) expect(existsSync((m.handle as CpusetHandle).path)).toBe(false);
      expect(existsSync(dirname((states[0]!.made[0]!.handle as CpusetHandle).path))).toBe(false);
      for (const m of states[1]!.made) expect(readFileSync(`${(m.handle as CpusetHandle).path}/cpuset.cpus`, 'utf8').trim()).toBe(lastCpu);
      for (const m of [...states[1]!.made].reverse()) await states[1]!.driver.destroy(node, m, states[1]!.c);
      for (const m of states.flatMap((s) => s.made)) {
        const h = m.handle as CpusetHandle;
        for (const p of [h.path, ...(h.perfPath ? [h.perfPath] : [])]) {
          expect(existsSync(p)).toBe(false);
          expect(existsSync(dirname(p))).toBe(false);
        }
      }
    });
  }

  it('names the node when no hierarchy has cpuset', async () => {
    if (v2WithCpuset.length) return console.log('skipped: this machine has a cgroup2 cpuset hierarchy');
    await expect(new LinuxCpusetDriver(2).create(local, spec(), ctx)).rejects.toThrow(/node local: no cgroup v2 hierarchy with the cpuset controller/);
  });
});
