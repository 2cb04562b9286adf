import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../transport/local.js';
import { SshTransport } from '../../transport/ssh.js';
import { sshTransportOptions, startSshd, type TestSshd } from '../../../test/sshd.js';
import { uniqueName } from '../../../test/services.js';
import type { DriverContext, PartitionSpec, PartitionState } from '../driver.js';
import { KvmDriver, type KvmHandle } from './kvm.js';
import { vmSkipReason } from './testing.js';

const ctx: DriverContext = { experiment: 'driver-test', run: `driver-test.${process.pid}`, log: () => {}, siblings: new Map() };
const lastCpu = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split(/[-,]/).pop()!;
const skip = vmSkipReason();
if (skip) console.log(`kvm driver tests skipped: ${skip}`);

/** Whether a process is gone (or a zombie nobody reaps). */
function gone(pid: number): boolean {
  try { return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return true; }
}

const spec = (over: Partial<PartitionSpec> = {}): PartitionSpec => ({ name: uniqueName('vm'), driver: 'kvm', cpus: lastCpu, memMb: 256, options: { accel: 'tcg' }, ...over });

describe.skipIf(!!skip)('kvm driver with a TCG guest (needs root, QEMU, a kernel image, busybox-static)', () => {
  const node = new LocalTransport({ node: 'local' });
  const driver = new KvmDriver();
  const made: PartitionState[] = [];
  let sshd: TestSshd;
  let ssh: SshTransport;
  beforeAll(async () => {
    sshd = await startSshd();
    ssh = new SshTransport(sshTransportOptions(sshd, 'sshnode'));
    await ssh.start();
  });
  afterAll(async () => {
    for (const s of made) await driver.destroy(s.node === 'local' ? node : ssh, s, ctx).catch(() => undefined);
    await ssh?.shutdown();
    await sshd?.stop();
  });

  // Over SSH (the usual node): QMP and the agent are reached by streamlocal forwarding. The
  // experiment tests (orchestrator/kvm.e2e.test.ts) run VMs on the local transport.
  it('over SSH: boots a guest, pins its vCPU, runs commands in it through the agent; destroy after QEMU died, twice', async () => {
    // The kernel given explicitly (a custom guest kernel): recorded with its sha256.
    const kernel = `/boot/${readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')).sort().pop()!}`;
    const state = await driver.create(ssh, spec({ options: { accel: 'tcg', kernel } }), ctx);
    made.push(state);
    const h = state.handle as KvmHandle;
    expect(state).toMatchObject({ driver: 'kvm', cpus: lastCpu, memMb: 256, note: expect.stringMatching(/^accel tcg \(asked for\); 1 vCPU pinned to CPUs /) });
    expect(state.provenance).toMatchObject({ accel: 'tcg', kernel, kernel_custom: true, kernel_sha256: createHash('sha256').update(readFileSync(kernel)).digest('hex'), initramfs_custom: false });
    // The vCPU thread runs only on the partition's CPU, and QEMU is in the partition's cgroup.
    expect(h.vcpus).toHaveLength(1);
    const status = readFileSync(`/proc/${h.pid}/task/${h.vcpus[0]!.threadId}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`Cpus_allowed_list:\\s+${lastCpu}\\n`));
    expect(readFileSync(`${String(h.cgroup!.handle.path)}/cgroup.procs`, 'utf8').split('\n')).toContain(String(h.pid));
    // The cgroup the collector counts the partition by holds QEMU's threads, vCPUs included.
    const [scope] = driver.measureScope(state)!.cgroups;
    const threads = [String(h.pid), ...h.vcpus.map((v) => String(v.threadId))]; // (I/O worker threads come and go)
    expect(readFileSync(`${scope}/${existsSync(`${scope}/tasks`) ? 'tasks' : 'cgroup.threads'}`, 'utf8').trim().split('\n').sort()).toEqual(expect.arrayContaining(threads));

    const guest = await driver.connect(ssh, state);
    const r = await guest.exec(['sh', '-c', 'echo "out $1"; echo err >&2; cat /proc/cmdline; nproc; exit 3', 'x', 'a b']);
    expect(r).toMatchObject({ code: 3, stdout: expect.stringContaining('out a b\n'), stderr: 'err\n' });
    expect(r.stdout).toContain('console=ttyS0'); // it ran in the guest, whose kernel command line is ours
    expect(r.stdout.trim().split('\n').pop()).toBe('1');
    // The host root is there read-only; /tmp is the guest's own.
    const ro = await guest.exec(['sh', '-c', 'test -x /usr/bin/stress-ng && ! touch /usr/isoscope-rw-test 2>/dev/null && touch /tmp/x && echo ok']);
    expect(ro.stdout.trim()).toBe('ok');
    const lines: string[] = [];
    const s = await guest.exec(['cat'], { stdin: 'one\ntwo\n', onLine: (_s, l) => lines.push(l) });
    expect(lines).toEqual(['one', 'two']);
    expect(s.code).toBe(0);

    // QEMU dies under the driver: commands fail saying so, destroy still cleans up (and again).
    const long = guest.exec(['sleep', '600']);
    process.kill(h.pid, 'SIGKILL');
    await expect(long).rejects.toThrow(/the connection to the guest agent was lost/);
    await driver.destroy(ssh, state, ctx);
    expect(gone(h.pid)).toBe(true);
    expect(existsSync(h.dir)).toBe(false);
    expect(existsSync(String(h.cgroup!.handle.path))).toBe(false);
    await driver.destroy(ssh, state, ctx); // idempotent
  }, 240_000);

  it('names node, partition and what it expected for a missing kernel image and an impossible pinning', async () => {
    const a = spec({ options: { accel: 'tcg', kernel: '/nonexistent/vmlinuz-9' } });
    await expect(driver.create(node, a, ctx)).rejects.toThrow(`partition ${a.name} (kvm) on node local: kernel image /nonexistent/vmlinuz-9 does not exist or is not readable; expected a bzImage`);
    const b = spec({ cpus: '4000-4001' });
    await expect(driver.create(node, b, ctx)).rejects.toThrow(new RegExp(`^partition ${b.name} \\(kvm\\) on node local: cannot pin the VM's vCPUs to CPUs 4000-4001: CPUs 4000-4001 are not online; expected CPUs among \\d`));
    const c = spec({ options: { accel: 'tcg', vcpus: 2, modules: '/nonexistent' } });
    await expect(driver.create(node, c, ctx)).rejects.toThrow(`partition ${c.name} (kvm) on node local: cannot build the guest initramfs: no kernel modules at /nonexistent (expected modules.dep there)`);
    expect(readdirSync('/tmp/isoscope-kvm').filter((d) => d.startsWith(c.name))).toEqual([]);
  });

  it('says why a guest did not boot (console lines) and leaves nothing behind', async () => {
    // An initramfs without an init: the kernel panics, QEMU exits (-no-reboot).
    const dir = mkdtempSync(join(tmpdir(), 'kvm-noinit-'));
    writeFileSync(join(dir, 'list'), '');
    execFileSync('sh', ['-c', 'cd "$1" && mkdir empty && echo empty | cpio -o -H newc 2>/dev/null | gzip > bad.gz', 'x', dir]);
    const s = spec({ options: { accel: 'tcg', initramfs: join(dir, 'bad.gz'), bootSeconds: 200 } });
    const before = qemuPids();
    const err = await driver.create(node, s, ctx).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`^partition ${s.name} \\(kvm\\) on node local: the guest did not boot: QEMU exited before the guest agent answered on the virtio-serial port isoscope.agent; console: .*(Kernel panic|Unable to mount root)`));
    expect(err?.message).toMatch(/Rollback: .*stop QEMU.*remove the cgroup/);
    expect(qemuPids().filter((p) => !before.includes(p))).toEqual([]);
    expect(readdirSync('/tmp/isoscope-kvm').filter((d) => d.startsWith(s.name))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});

/** QEMU processes of this test file's VMs. */
function qemuPids(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('isoscope-vm-'); } catch { return false; }
  }).map(Number);
}
