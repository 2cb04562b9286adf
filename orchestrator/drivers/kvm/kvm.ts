/**
 * `kvm`: a partition is a QEMU virtual machine on the node. Its vCPUs and memory come from the
 * partition; QEMU starts inside a cpuset cgroup with the partition's CPUs and memory nodes (so
 * per-partition counting counts the VM, and memory comes from those nodes), and each vCPU thread
 * (QMP `query-cpus-fast`) is pinned to one of the partition's CPUs. KVM is used where a short probe
 * boot works, TCG otherwise; the choice goes into the partition record. The guest boots the node's
 * kernel with an initramfs built on the node (guest-image.ts) and runs a guest agent
 * (guest-agent.ts) through which the runner runs workloads inside the VM (`connect`). Each step is
 * confirmed; a failure undoes the steps before it in reverse. Destroy is idempotent and also cleans
 * up after a QEMU that died; the journaled handle is enough to do it after a crash.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DriverContext, MeasureScope, PartitionDriver, PartitionSpec, PartitionState } from '../driver.js';
import type { NodeTransport } from '../../transport/transport.js';
import { expandCpuList, formatCpuList } from '../../../core/cpu-list.js';
import { LinuxCpusetDriver } from '../linux-cpuset/linux-cpuset.js';
import { CreateFailedError, Rollback, checkAborted } from '../tool-steps.js';
import { AgentTransport } from './agent-transport.js';
import { kvmOptions, type KvmOptions } from './config.js';
import { guestAgentProgram } from './guest-agent.js';
import { BUILD, INIT, PROBE_MARK, conf } from './guest-image.js';
import { Qmp } from './qmp.js';
import { files, probeArgv, vmArgv } from './qemu-args.js';

const DEFAULT_WORK_ROOT = '/tmp/isoscope';

/** Handle journaled for crash recovery. */
export interface KvmHandle {
  dir: string;
  pid: number;
  accel: 'kvm' | 'tcg';
  /** The partition's cpuset cgroup (a linux-cpuset state); absent in a checkpoint from before it existed. */
  cgroup?: PartitionState;
  /** vCPU index → host thread id → the CPU it is pinned to. */
  vcpus: { index: number; threadId: number; cpu: number }[];
  [key: string]: unknown;
}

/** Kills the VM's QEMU (only if the pid still runs a QEMU of this VM directory) and removes the directory. */
const STOP_VM = [
  'dir=$1; pid=$2',
  'if [ "$pid" -gt 0 ] 2>/dev/null && [ -r "/proc/$pid/cmdline" ] && tr "\\0" "\\n" < "/proc/$pid/cmdline" | grep -qF -- "$dir"; then',
  '  kill -TERM "$pid" 2>/dev/null; i=0; while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
  '  kill -KILL "$pid" 2>/dev/null; i=0; while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
  'fi',
  'case "$dir" in /*/*) rm -rf -- "$dir" ;; esac',
].join('\n');

/** Pins thread $2k+1 to CPU $2k+2 and prints each thread's Cpus_allowed_list. */
const PIN = [
  'pid=$1; shift',
  'while [ $# -ge 2 ]; do taskset -pc "$2" "$1" >/dev/null || exit 1; printf "%s " "$1"; grep Cpus_allowed_list "/proc/$pid/task/$1/status" | cut -f2; shift 2; done',
].join('\n');

export class KvmDriver implements PartitionDriver {
  readonly name = 'kvm' as const;
  private readonly cgroups: LinuxCpusetDriver;
  /** Per node and kernel: the accelerator the probe chose, and why. */
  private readonly accels = new Map<string, Promise<{ accel: 'kvm' | 'tcg'; why: string }>>();
  private readonly agents = new Map<string, AgentTransport>();

  /** @param cgroupVersion as for linux-cpuset: the cgroup version when a node has both. */
  constructor(cgroupVersion?: 1 | 2) {
    this.cgroups = new LinuxCpusetDriver(cgroupVersion);
  }

  async create(node: NodeTransport, spec: PartitionSpec, ctx: DriverContext): Promise<PartitionState> {
    const where = `partition ${spec.name} (kvm) on node ${node.node}`;
    const parsed = kvmOptions.safeParse(spec.options ?? {});
    if (!parsed.success) throw new Error(`partition ${spec.name} (kvm): options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
    const o = parsed.data;
    if (!node.connectUnix) throw new Error(`${where}: the node's transport cannot reach Unix sockets, which the VM's QMP and guest agent use`);
    if (spec.devices?.length) throw new Error(`${where}: devices are not supported by this driver yet (got ${spec.devices.join(', ')})`);
    const cpus = expandCpuList(spec.cpus);
    const vcpus = o.vcpus ?? cpus.length;
    const memMb = spec.memMb > 0 ? spec.memMb : o.defaultMemMb;
    const share = ctx.workRoot ?? DEFAULT_WORK_ROOT;
    const sh = shell(node, where);

    // Pinning is possible only onto CPUs the node has online.
    const online = expandCpuList(await sh('reading the online CPUs', ['cat', '/sys/devices/system/cpu/online']));
    const missing = cpus.filter((c) => !online.includes(c));
    if (cpus.length === 0 || missing.length) {
      throw new Error(`${where}: cannot pin the VM's vCPUs to CPUs ${spec.cpus}: CPU${missing.length === 1 ? '' : 's'} ${formatCpuList(missing) || '(none given)'} ${missing.length === 1 ? 'is' : 'are'} not online; expected CPUs among ${formatCpuList(online)}`);
    }

    const kernel = o.kernel ?? (await sh('finding the guest kernel', ['sh', '-c', 'ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1']));
    if (!kernel) throw new Error(`${where}: no guest kernel image: expected /boot/vmlinuz-* (package linux-image-amd64) or options.kernel`);
    if ((await node.exec(['test', '-r', kernel])).code !== 0) throw new Error(`${where}: kernel image ${kernel} does not exist or is not readable; expected a bzImage (e.g. /boot/vmlinuz-$(uname -r)) at options.kernel`);
    const version = /vmlinuz-(.+)$/.exec(kernel)?.[1];
    const modules = o.initramfs ? null : o.modules ?? (version ? `/lib/modules/${version}` : null);
    if (!o.initramfs && !modules) throw new Error(`${where}: cannot tell the modules directory of kernel ${kernel} from its name; expected options.modules`);
    const nodejs = o.nodejs ?? (await sh('finding node.js for the guest agent', ['sh', '-c', 'command -v node || true']));
    if (!nodejs) throw new Error(`${where}: no node.js on the node's PATH for the guest agent; expected options.nodejs`);

    const hostNuma = await numaLayout(node);
    const numa = spec.numa ?? (hostNuma.count > 1 ? formatCpuList([...new Set(cpus.map((c) => hostNuma.nodeOf.get(c) ?? 0))]) : null);
    checkAborted(ctx.signal, node.node, 'accelerator');
    const { accel, why } = await this.accel(node, o, kernel, where, ctx);

    const dir = `${o.stateRoot}/${spec.name.slice(0, 40)}-${randomBytes(4).toString('hex')}`;
    const f = files(dir);
    const rollback = new Rollback();
    let pid = 0;
    try {
      // Checkpoints journal what exists so far: a crash during the (long) boot leaves recovery a handle.
      const partial = (h: Partial<KvmHandle>): PartitionState => ({ name: spec.name, node: node.node, driver: this.name, cpus: formatCpuList(cpus), memMb, numa, devices: [], handle: { dir, pid: 0, accel, vcpus: [], ...h } });
      await sh('creating the VM directory', ['mkdir', '-p', '--', dir, share]);
      ctx.checkpoint?.(partial({}));
      rollback.push(`remove ${dir}`, async () => { await node.exec(['sh', '-c', STOP_VM, 'stop', dir, '0'], { timeoutMs: 30_000 }); });
      let initramfs = o.initramfs;
      if (!initramfs) {
        checkAborted(ctx.signal, node.node, 'initramfs');
        ctx.log(`Partition ${spec.name}: building the guest initramfs (busybox, modules of ${modules}, guest agent)`);
        await build(node, where, dir, 'initramfs.gz', o.busybox, modules!, conf({ share, nodejs, probe: false }));
        initramfs = `${dir}/initramfs.gz`;
      }

      checkAborted(ctx.signal, node.node, 'cgroup');
      const cgroup = await this.cgroups.create(node, { name: spec.name, driver: 'linux-cpuset', cpus: spec.cpus, memMb: spec.memMb, ...(numa ? { numa } : {}), options: { root: o.cgroupRoot } }, { ...ctx, checkpoint: (cg) => ctx.checkpoint?.(partial({ cgroup: cg })) });
      ctx.checkpoint?.(partial({ cgroup }));
      rollback.push(`remove the cgroup ${String(cgroup.handle.path)}`, () => this.cgroups.destroy(node, cgroup, ctx));

      checkAborted(ctx.signal, node.node, 'start');
      const argv = vmArgv({ qemu: o.qemu, name: `isoscope-${spec.name}`, accel, vcpus, memMb, kernel, initramfs, dir, share, ...(hostNuma.count > 1 && numa ? { bindNuma: expandCpuList(numa) } : {}) });
      ctx.log(`Partition ${spec.name}: starting QEMU (${accel}, ${vcpus} vCPU, ${memMb} MiB) in cgroup ${String(cgroup.handle.path)}`);
      const started = await node.exec(this.cgroups.wrap(cgroup, argv), { timeoutMs: 60_000 });
      if (started.code !== 0) throw new Error(`${where}: QEMU did not start (exit ${started.code}): ${(started.stderr || started.stdout).trim() || '(no output)'}`);
      pid = Number(await sh('reading the QEMU pid file', ['cat', f.pid]));
      ctx.checkpoint?.(partial({ cgroup, pid }));
      rollback.push(`stop QEMU (pid ${pid})`, async () => { await node.exec(['sh', '-c', STOP_VM, 'stop', dir, String(pid)], { timeoutMs: 30_000 }); });

      const pinned = await this.pin(node, where, f.qmp, pid, vcpus, cpus);
      ctx.log(`Partition ${spec.name}: vCPU threads pinned: ${pinned.map((v) => `vCPU ${v.index} (thread ${v.threadId}) → CPU ${v.cpu}`).join(', ')}`);

      await this.waitForAgent(node, where, dir, pid, o.bootSeconds, ctx);
      ctx.log(`Partition ${spec.name}: guest agent ready`);
      const kernelSum = (await node.exec(['sha256sum', kernel])).stdout.split(' ')[0] ?? '';
      const handle: KvmHandle = { dir, pid, accel, cgroup, vcpus: pinned, kernel, initramfs };
      return {
        name: spec.name,
        node: node.node,
        driver: this.name,
        cpus: formatCpuList(cpus),
        memMb,
        numa,
        devices: [],
        handle,
        note: `accel ${accel} (${why}); ${vcpus} vCPU pinned to CPUs ${formatCpuList(pinned.map((v) => v.cpu))}`,
        provenance: {
          accel,
          accel_reason: why,
          vcpus,
          mem_mb: memMb,
          kernel,
          kernel_sha256: kernelSum,
          kernel_custom: o.kernel !== undefined,
          initramfs: o.initramfs ?? 'built on the node (busybox, virtio and 9p modules, guest agent)',
          initramfs_custom: o.initramfs !== undefined,
          ...(o.initramfs ? { initramfs_sha256: (await node.exec(['sha256sum', o.initramfs])).stdout.split(' ')[0] ?? '' } : {}),
        },
      };
    } catch (err) {
      this.dropAgent(node.node, dir);
      const { done, leaked } = await rollback.unwind(ctx);
      throw new CreateFailedError(err as Error, done, leaked);
    }
  }

  /** Workloads run in the guest: the command is unchanged, {@link connect} gives the guest's transport. */
  wrap(_state: PartitionState, argv: readonly string[]): string[] {
    return [...argv];
  }

  /** QEMU (every vCPU and I/O thread) runs in the partition's cgroup: the collector counts the VM there. */
  measureScope(state: PartitionState): MeasureScope | null {
    const { cgroup } = readHandle(state);
    return cgroup ? this.cgroups.measureScope(cgroup) : null;
  }

  async connect(node: NodeTransport, state: PartitionState): Promise<NodeTransport> {
    const h = readHandle(state);
    const cached = this.agents.get(`${node.node}:${h.dir}`);
    if (cached) return cached;
    const agent = await this.openAgent(node, `partition ${state.name} (kvm) on node ${node.node}`, h.dir);
    await agent.ping(10_000);
    return agent;
  }

  async destroy(node: NodeTransport, state: PartitionState, ctx: DriverContext): Promise<void> {
    const h = readHandle(state);
    const where = `partition ${state.name} (kvm) on node ${node.node}`;
    this.dropAgent(node.node, h.dir);
    ctx.log(`destroying the VM in ${h.dir} (QEMU pid ${h.pid})`);
    const r = await node.exec(['sh', '-c', STOP_VM, 'stop', h.dir, String(h.pid)], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${where}: cannot stop QEMU ${h.pid} or remove ${h.dir}: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    // The cgroup's destroy kills whatever is left in it (a QEMU whose pid was reused is not ours).
    // A checkpoint from before the cgroup existed has none.
    if (h.cgroup) await this.cgroups.destroy(node, h.cgroup, ctx);
  }

  /** The accelerator for a node and kernel: asked for, or probed once per process. */
  private accel(node: NodeTransport, o: KvmOptions, kernel: string, where: string, ctx: DriverContext): Promise<{ accel: 'kvm' | 'tcg'; why: string }> {
    if (o.accel === 'tcg') return this.tcg(node, o, where, 'asked for');
    const key = `${node.node}:${o.qemu}:${kernel}:${o.kvmProbeSeconds}`;
    let found = this.accels.get(key);
    if (!found) {
      found = (async () => {
        const kvm = await this.probeKvm(node, o, kernel, ctx);
        if (kvm.ok) return { accel: 'kvm' as const, why: 'the KVM probe guest booted' };
        if (o.accel === 'kvm') throw new Error(`${where}: KVM asked for but not usable: ${kvm.reason}`);
        return this.tcg(node, o, where, `KVM not usable: ${kvm.reason}`, kvm.reason);
      })();
      found.catch(() => this.accels.delete(key));
      this.accels.set(key, found);
    }
    return found;
  }

  private async tcg(node: NodeTransport, o: KvmOptions, where: string, why: string, kvmReason?: string): Promise<{ accel: 'tcg'; why: string }> {
    const r = await node.exec([o.qemu, '-accel', 'help'], { timeoutMs: 30_000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
    if (r.code !== 0 || !/^tcg$/m.test(r.stdout)) {
      throw new Error(`${where}: neither KVM (${kvmReason ?? 'not tried'}) nor TCG is available: ${o.qemu} -accel help ${r.code === 0 ? `lists ${r.stdout.trim().split('\n').slice(1).join(', ') || 'nothing'}` : `failed: ${(r.stderr || r.stdout).trim()}`}; expected QEMU (package qemu-system-x86)`);
    }
    return { accel: 'tcg', why };
  }

  /** Boots the kernel under KVM with a probe initramfs that prints a mark and powers off. */
  private async probeKvm(node: NodeTransport, o: KvmOptions, kernel: string, ctx: DriverContext): Promise<{ ok: true } | { ok: false; reason: string }> {
    const dev = await node.exec(['sh', '-c', '[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]']);
    if (dev.code !== 0) return { ok: false, reason: '/dev/kvm is missing or not readable and writable' };
    const dir = `${o.stateRoot}/probe-${randomBytes(4).toString('hex')}`;
    ctx.log(`probing KVM on node ${node.node} (up to ${o.kvmProbeSeconds} s)`);
    try {
      const mk = await node.exec(['mkdir', '-p', '--', dir]);
      if (mk.code !== 0) return { ok: false, reason: `cannot create ${dir}: ${mk.stderr.trim()}` };
      await build(node, `node ${node.node}`, dir, 'probe.gz', o.busybox, '-', conf({ share: '/tmp', nodejs: '/bin/true', probe: true }));
      // timeout(1) on the node too: a hung probe guest must not outlive an orchestrator killed meanwhile.
      const r = await node.exec(['timeout', '-s', 'KILL', String(Math.ceil(o.kvmProbeSeconds) + 5), ...probeArgv(o.qemu, kernel, `${dir}/probe.gz`)], { timeoutMs: o.kvmProbeSeconds * 1000 });
      if (r.stdout.includes(PROBE_MARK)) return { ok: true };
      const said = (r.stderr.trim() || r.stdout.trim()).split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' | ');
      return { ok: false, reason: `the probe guest ended without reaching user space (${r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`}): ${said.slice(0, 300) || '(no output)'}` };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return { ok: false, reason: `the probe guest did not reach user space within ${o.kvmProbeSeconds} s (nested KVM hanging in early boot looks like this)` };
      return { ok: false, reason: (err as Error).message };
    } finally {
      await node.exec(['rm', '-rf', '--', dir]).catch(() => undefined);
    }
  }

  /** Pins vCPU i to the partition's CPU i mod n (after all QEMU threads to the partition's CPUs). */
  private async pin(node: NodeTransport, where: string, qmpPath: string, pid: number, vcpus: number, cpus: number[]): Promise<KvmHandle['vcpus']> {
    const qmp = new Qmp(await node.connectUnix!(qmpPath), where);
    let threads;
    try {
      await qmp.handshake(10_000);
      threads = await qmp.vcpuThreads(10_000);
    } finally {
      qmp.close();
    }
    if (threads.length !== vcpus) throw new Error(`${where}: QMP query-cpus-fast lists ${threads.length} vCPUs; expected ${vcpus}`);
    const plan = threads.map((t) => ({ ...t, cpu: cpus[t.index % cpus.length]! }));
    const r = await node.exec(['sh', '-c', PIN, 'pin', String(pid), ...plan.flatMap((p) => [String(p.threadId), String(p.cpu)])], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${where}: cannot pin the vCPU threads (taskset): ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    const allowed = new Map(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/) as [string, string]));
    for (const p of plan) {
      const got = allowed.get(String(p.threadId));
      if (got === undefined || formatCpuList(expandCpuList(got)) !== String(p.cpu)) {
        throw new Error(`${where}: vCPU ${p.index} (thread ${p.threadId}) may run on CPUs ${got ?? '(unknown)'} after pinning; expected CPU ${p.cpu}`);
      }
    }
    return plan;
  }

  /** Waits until the guest agent answers, failing early (with the console's last lines) when QEMU exits. */
  private async waitForAgent(node: NodeTransport, where: string, dir: string, pid: number, seconds: number, ctx: DriverContext): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    const consoleTail = async () => {
      const t = await node.exec(['sh', '-c', 'tail -n 15 "$1" 2>/dev/null | tr -d "\\r"', 'tail', files(dir).console]).catch(() => null);
      return t?.stdout.trim().split('\n').filter(Boolean).join(' | ') || '(nothing)';
    };
    let agent: AgentTransport | null = null;
    while (Date.now() < deadline) {
      checkAborted(ctx.signal, node.node, 'boot');
      const alive = await node.exec(['test', '-d', `/proc/${pid}`]);
      if (alive.code !== 0) {
        throw new Error(`${where}: the guest did not boot: QEMU exited before the guest agent answered on the virtio-serial port isoscope.agent; console: ${await consoleTail()}`);
      }
      try {
        agent ??= await this.openAgent(node, where, dir);
        await agent.ping(1000);
        return;
      } catch {
        await sleep(200);
      }
    }
    this.dropAgent(node.node, dir);
    throw new Error(`${where}: the guest did not boot: its agent did not answer on the virtio-serial port isoscope.agent within ${seconds} s (options.bootSeconds); console: ${await consoleTail()}`);
  }

  private async openAgent(node: NodeTransport, where: string, dir: string): Promise<AgentTransport> {
    const key = `${node.node}:${dir}`;
    const stream = await node.connectUnix!(files(dir).agent);
    const agent = new AgentTransport(node.node, where, stream);
    const forget = () => { if (this.agents.get(key) === agent) this.agents.delete(key); };
    stream.on('end', forget);
    stream.on('close', forget);
    this.agents.set(key, agent);
    return agent;
  }

  private dropAgent(node: string, dir: string): void {
    const key = `${node}:${dir}`;
    void this.agents.get(key)?.shutdown();
    this.agents.delete(key);
  }
}

function readHandle(state: PartitionState): KvmHandle {
  const h = state.handle as Partial<KvmHandle>;
  if (typeof h.dir !== 'string' || !/^\/.+\/[^/]+-[0-9a-f]{8}$/.test(h.dir) || typeof h.pid !== 'number') throw new Error(`partition ${state.name} (kvm) on node ${state.node}: handle has no VM directory or pid (${JSON.stringify(state.handle)})`);
  return h as KvmHandle;
}

/** A node command that must succeed; returns its trimmed stdout. */
function shell(node: NodeTransport, where: string) {
  return async (what: string, argv: string[]): Promise<string> => {
    const r = await node.exec(argv, { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${where}: ${what} failed: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    return r.stdout.trim();
  };
}

async function build(node: NodeTransport, where: string, dir: string, name: string, busybox: string, modules: string, confText: string): Promise<void> {
  const r = await node.exec(['sh', '-c', BUILD, 'build', dir, name, busybox, modules, INIT, confText], { stdin: guestAgentProgram(), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${where}: cannot build the guest initramfs: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
}

/** How many NUMA nodes the node has and which node each CPU belongs to. */
async function numaLayout(node: NodeTransport): Promise<{ count: number; nodeOf: Map<number, number> }> {
  const r = await node.exec(['sh', '-c', 'for n in /sys/devices/system/node/node[0-9]*; do [ -d "$n" ] && echo "${n##*node} $(cat "$n/cpulist")"; done']);
  const nodeOf = new Map<number, number>();
  let count = 0;
  for (const line of r.stdout.trim().split('\n')) {
    const [n, list] = line.split(' ');
    if (n === undefined || !/^\d+$/.test(n)) continue;
    count++;
    if (list) for (const c of expandCpuList(list)) nodeOf.set(c, Number(n));
  }
  return { count: Math.max(count, 1), nodeOf };
}
