import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../transport/local.js';
import { SshTransport } from '../../transport/ssh.js';
import type { NodeTransport } from '../../transport/transport.js';
import { startSshd, type TestSshd } from '../../../test/sshd.js';
import { uniqueName } from '../../../test/services.js';
import type { DriverContext, PartitionSpec } from '../driver.js';
import { cgroupMounts } from './hierarchy.js';
import { parseCgroupMounts, perfEventMount } from '../../../collectors/perf/cgroup.js';
import { LinuxCpusetDriver, type CpusetHandle } from './linux-cpuset.js';

const ctx: DriverContext = { log: () => {}, siblings: new Map() };
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
    ssh = new SshTransport({ node: 'sshnode', host: sshd.host, port: sshd.port, user: sshd.user, privateKeyPath: sshd.privateKeyPath, knownHosts: sshd.knownHostsLine });
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
        expect(path).toMatch(new RegExp(`/isoscope/${node.node}-p-`));
        expect(readFileSync(`${path}/cpuset.cpus`, 'utf8').trim()).toBe(lastCpu);
        const inside = await node.exec(driver.wrap(state, ['sh', '-c', 'grep Cpus_allowed_list /proc/self/status; cat /proc/self/cgroup', '$(echo hostile)']));
        expect(inside.code).toBe(0);
        expect(inside.stdout).toMatch(new RegExp(`Cpus_allowed_list:\\s+${lastCpu}\\n`));
        expect(inside.stdout).toContain(path.slice(path.indexOf('/isoscope/')));
        // The partition is in the perf_event hierarchy too (its own cgroup there when that is another hierarchy), and measureScope names it.
        const { perfPath } = state.handle as CpusetHandle;
        const perfMount = perfEventMount(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')))!.mountpoint;
        expect(driver.measureScope(state).cgroups).toEqual([perfPath ?? path]);
        if (version === 1 && !path.startsWith(perfMount)) {
          expect(perfPath).toBe(`${perfMount}/isoscope/${node.node}-${state.name}`);
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
        expect(gone(pid)).toBe(true);
        await driver.destroy(node, state, ctx); // idempotent
      });
    }

    it(`v${version}: refuses cpus the node does not have, leaving nothing behind`, async () => {
      const driver = new LinuxCpusetDriver(version);
      const s = spec({ cpus: '4000' });
      await expect(driver.create(local, s, ctx)).rejects.toThrow(new RegExp(`partition ${s.name} on node local: writing "4000" to .*cpuset.cpus failed`));
      const root = version === 1 ? v1Cpuset[0]! : v2WithCpuset[0]!;
      expect(existsSync(`${root}/isoscope/local-${s.name}`)).toBe(false);
    });
  }

  it('names the node when no hierarchy has cpuset', async () => {
    if (v2WithCpuset.length) return console.log('skipped: this machine has a cgroup2 cpuset hierarchy');
    await expect(new LinuxCpusetDriver(2).create(local, spec(), ctx)).rejects.toThrow(/node local: no cgroup v2 hierarchy with the cpuset controller/);
  });
});
