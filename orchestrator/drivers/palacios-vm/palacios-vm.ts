/**
 * `palacios-vm`: a Palacios VM, either beside the enclaves in the Linux host (no `parent`: Palacios's
 * Linux tools on /dev/v3vee) or inside a Kitten enclave (`parent` names a `pisces-kitten` partition:
 * the Pisces flavour of the same tools, over the enclave's control channel). Two steps, each
 * confirmed from the tool's output and undone in reverse order on failure or cancel:
 *   1. create  `v3_create [-b] <image> <name> [<enclave dev>] [tag=value…]` → VM id
 *              (undo: `v3_free <id>` / `v3_free <dev> <id>`)
 *   2. launch  `v3_launch /dev/v3-vm<id>` / `v3_launch <dev> <id>`
 *              (undo: `v3_stop …`)
 * destroy stops and frees; a VM (or enclave) that is already gone counts as destroyed. wrap runs
 * the command through the configured `launcher` (a guest has no host-side launcher of its own).
 */
import { join } from 'node:path';
import type { NodeTransport } from '../../transport/transport.js';
import type { DriverContext, PartitionDriver, PartitionSpec, PartitionState } from '../driver.js';
import { expandCpuList, formatCpuList } from '../../../core/cpu-list.js';
import { readHandle as readEnclaveHandle } from '../pisces-kitten/pisces-kitten.js';
import { CreateFailedError, Rollback, runTool, stepRunner, ToolStepError } from '../tool-steps.js';
import { parsePalaciosVmOptions } from './config.js';
import { hostVmDevice, parseEnclaveCreate, parseEnclaveLaunch, parseEnclaveVmCommand, parseHostCreate, parseHostFree, parseHostLaunch, parseHostStop } from './parse.js';

/** What destroy (and crash recovery) needs, journaled as the partition's handle. */
export interface PalaciosVmHandle {
  /** `linux`: Palacios in the host kernel; `enclave`: Palacios inside the parent's Kitten enclave. */
  host: 'linux' | 'enclave';
  vmId: number;
  vmName: string;
  /** /dev/v3-vm<id> (linux) or the enclave's /dev/pisces-enclave<id>. */
  device: string;
  toolsDir: string;
  env: Record<string, string>;
  toolTimeoutMs: number;
  launcher: string[];
  parent: string | null;
}

export class PalaciosVmDriver implements PartitionDriver {
  readonly name = 'palacios-vm' as const;

  async create(node: NodeTransport, spec: PartitionSpec, ctx: DriverContext): Promise<PartitionState> {
    const opts = parsePalaciosVmOptions(spec.name, spec.options);
    const where = `partition ${spec.name} (palacios-vm)`;
    if (spec.devices?.length) throw new Error(`${where}: devices are passed through in the guest's XML configuration, not as partition devices (got ${spec.devices.join(', ')})`);
    const cpus = expandCpuList(spec.cpus);
    const vmName = opts.vmName ?? spec.name;
    if (!/^[A-Za-z0-9_.-]{1,127}$/.test(vmName)) throw new Error(`${where}: VM name "${vmName}" must be 1-127 letters, digits, "_", "." or "-" (set options.vmName)`);
    const build = opts.build ?? opts.image.endsWith('.xml');
    const cfg = Object.entries(opts.config).map(([k, v]) => `${k}=${v}`);
    if (cfg.length && !build) throw new Error(`${where}: options.config applies only when building from XML (build: true)`);

    let handle: Omit<PalaciosVmHandle, 'vmId'>;
    if (spec.parent) {
      const parent = ctx.siblings.get(spec.parent);
      if (!parent) throw new Error(`${where}: parent "${spec.parent}" has not been created on node ${node.node} (created here: ${[...ctx.siblings.keys()].join(', ') || 'none'})`);
      if (parent.driver !== 'pisces-kitten') throw new Error(`${where}: parent "${spec.parent}" is a ${parent.driver} partition; a Palacios VM can only nest in a pisces-kitten enclave`);
      const enclaveCpus = expandCpuList(parent.cpus);
      const outside = cpus.filter((c) => !enclaveCpus.includes(c));
      if (outside.length) throw new Error(`${where}: CPUs ${formatCpuList(outside)} are not in parent enclave "${parent.name}" (which has ${parent.cpus})`);
      if (spec.memMb > parent.memMb) throw new Error(`${where}: ${spec.memMb} MiB do not fit in parent enclave "${parent.name}" (${parent.memMb} MiB)`);
      const enclave = readEnclaveHandle(parent);
      handle = { host: 'enclave', vmName, device: enclave.device, toolsDir: opts.piscesToolsDir ?? enclave.toolsDir, env: { ...enclave.env, ...opts.env }, toolTimeoutMs: opts.toolTimeoutMs, launcher: opts.launcher, parent: parent.name };
    } else {
      handle = { host: 'linux', vmName, device: '', toolsDir: opts.toolsDir, env: opts.env, toolTimeoutMs: opts.toolTimeoutMs, launcher: opts.launcher, parent: null };
    }

    const tool = (name: string) => join(handle.toolsDir, name);
    const step = stepRunner(node, ctx, spec.name, { env: handle.env, timeoutMs: handle.toolTimeoutMs });
    const rollback = new Rollback();
    try {
      const createArgv = [tool('v3_create'), ...(build ? ['-b'] : []), opts.image, vmName, ...(handle.host === 'enclave' ? [handle.device] : []), ...cfg];
      // No AbortSignal while creating: killed half-way, v3_create could leave a VM whose id we never learn.
      const { vmId } = await step('create VM', createArgv, (o) => (handle.host === 'enclave' ? parseEnclaveCreate(o, handle.device) : parseHostCreate(o, vmName)));
      const h: PalaciosVmHandle = { ...handle, vmId, device: handle.host === 'linux' ? hostVmDevice(vmId) : handle.device };
      rollback.push(`free VM ${vmId} (v3_free)`, () => this.free(node, h, 'rollback', false).then(() => undefined));

      const launchArgv = h.host === 'enclave' ? [tool('v3_launch'), h.device, String(vmId)] : [tool('v3_launch'), h.device];
      await step('launch VM', launchArgv, (o) => (h.host === 'enclave' ? parseEnclaveLaunch(o, h.device) : parseHostLaunch(o, h.device)), ctx.signal);
      rollback.push(`stop VM ${vmId} (v3_stop)`, () => this.stop(node, h, 'rollback').then(() => undefined));

      ctx.log(`Partition ${spec.name}: VM ${vmName} (id ${vmId}) runs ${h.host === 'enclave' ? `in enclave ${h.device} (${h.parent})` : 'in the Linux host'}.`);
      return {
        name: spec.name,
        node: node.node,
        driver: this.name,
        cpus: formatCpuList(cpus),
        memMb: spec.memMb,
        numa: spec.numa ?? null,
        devices: [],
        handle: { ...h },
      };
    } catch (err) {
      const { done, leaked } = await rollback.unwind(ctx);
      throw new CreateFailedError(err as Error, done, leaked);
    }
  }

  wrap(state: PartitionState, argv: readonly string[]): string[] {
    const h = readHandle(state);
    if (argv.length === 0) throw new Error(`partition ${state.name} (palacios-vm): nothing to run`);
    return [...h.launcher.map((a) => a.replaceAll('{vm}', h.vmName).replaceAll('{id}', String(h.vmId))), ...argv];
  }

  async destroy(node: NodeTransport, state: PartitionState, ctx: DriverContext): Promise<void> {
    const h = readHandle(state);
    const stopped = await this.stop(node, h, 'destroy');
    if (stopped === 'gone') {
      ctx.log(`VM ${h.vmName} (id ${h.vmId}) on node ${node.node} is already gone.`);
      return;
    }
    const freed = await this.free(node, h, 'destroy', stopped === 'refused');
    ctx.log(freed === 'gone' ? `VM ${h.vmName} (id ${h.vmId}) on node ${node.node} is already gone.` : `VM ${h.vmName} (id ${h.vmId}) on node ${node.node} stopped and freed.`);
  }

  /** v3_stop: 'stopped', 'refused' (exists but does not run, or unknown to Kitten), or 'gone'. */
  private async stop(node: NodeTransport, h: PalaciosVmHandle, step: string): Promise<'stopped' | 'refused' | 'gone'> {
    const argv = h.host === 'enclave' ? [join(h.toolsDir, 'v3_stop'), h.device, String(h.vmId)] : [join(h.toolsDir, 'v3_stop'), h.device];
    const out = await runTool(node, step, argv, { env: h.env, timeoutMs: h.toolTimeoutMs });
    if (h.host === 'enclave') {
      const r = parseEnclaveVmCommand(out, 'stop', h.device, h.vmId);
      if (!r.ok) throw new ToolStepError(node.node, step, 'v3_stop', r.reason, out);
      return r.kind === 'done' ? 'stopped' : r.kind === 'enclave-gone' ? 'gone' : 'refused';
    }
    const r = parseHostStop(out, h.device);
    if (!r.ok) throw new ToolStepError(node.node, step, 'v3_stop', r.reason, out);
    return r.kind === 'stopped' ? 'stopped' : r.kind === 'gone' ? 'gone' : 'refused';
  }

  /**
   * v3_free: 'freed' or 'gone'. Kitten answers "Could not STOP VM" both for an id it does not know
   * and for a VM that still runs; after a stop it also refused, the VM is taken to be gone.
   */
  private async free(node: NodeTransport, h: PalaciosVmHandle, step: string, stopRefused: boolean): Promise<'freed' | 'gone'> {
    const argv = h.host === 'enclave' ? [join(h.toolsDir, 'v3_free'), h.device, String(h.vmId)] : [join(h.toolsDir, 'v3_free'), String(h.vmId)];
    const out = await runTool(node, step, argv, { env: h.env, timeoutMs: h.toolTimeoutMs });
    if (h.host === 'enclave') {
      const r = parseEnclaveVmCommand(out, 'free', h.device, h.vmId);
      if (!r.ok) throw new ToolStepError(node.node, step, 'v3_free', r.reason, out);
      if (r.kind === 'done') return 'freed';
      if (r.kind === 'enclave-gone' || stopRefused) return 'gone';
      throw new ToolStepError(node.node, step, 'v3_free', 'was refused by Kitten after the VM had been stopped', out);
    }
    const r = parseHostFree(out, h.vmId);
    if (!r.ok) throw new ToolStepError(node.node, step, 'v3_free', r.reason, out);
    return 'freed';
  }
}

export function readHandle(state: PartitionState): PalaciosVmHandle {
  const h = state.handle as Partial<PalaciosVmHandle>;
  if ((h.host !== 'linux' && h.host !== 'enclave') || typeof h.vmId !== 'number' || typeof h.device !== 'string' || typeof h.toolsDir !== 'string' || !Array.isArray(h.launcher)) {
    throw new Error(`partition ${state.name} (palacios-vm): handle ${JSON.stringify(state.handle)} lacks host, vmId, device, toolsDir or launcher`);
  }
  return { host: h.host, vmId: h.vmId, vmName: h.vmName ?? state.name, device: h.device, toolsDir: h.toolsDir, env: h.env ?? {}, toolTimeoutMs: h.toolTimeoutMs ?? 60_000, launcher: h.launcher, parent: h.parent ?? null };
}
