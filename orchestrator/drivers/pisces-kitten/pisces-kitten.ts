/**
 * `pisces-kitten`: a Kitten co-kernel enclave brought up through Pisces on a Linux node, with the
 * Pisces host tools over the node's transport:
 *   1. load    `pisces_load <kernel> <initrd> <cmdline>`            → enclave id (from its output)
 *   2. launch  `pisces_launch -c <boot cpu> -m <blocks> [-n <numa>] /dev/pisces-enclave<id>`
 *   3. memory  `pisces_ctrl -m <blocks> [-n <numa>] <dev>`            (when more than the boot blocks)
 *   4. cpus    `pisces_ctrl --explicit --cpu=<a,b,…> <dev>`           (the other CPUs)
 *   5. verify  `cat <procDir>/enclave-<id>/cpus …/memory`              (the enclave owns exactly those)
 * Undo is `pisces_shutdown <id>`, which frees the enclave and onlines every CPU and memory block
 * the enclave lists, so it undoes steps 2-4 together; a failure at any step unwinds in reverse
 * order and the error says what could not be undone. wrap submits the command as a Kitten job
 * with `pisces_run`.
 */
import { join } from 'node:path';
import type { NodeTransport } from '../../transport/transport.js';
import type { DriverContext, PartitionDriver, PartitionSpec, PartitionState } from '../driver.js';
import { singleNumaNode } from '../numa.js';
import { expandCpuList, formatCpuList } from '../../../core/cpu-list.js';
import { CreateFailedError, Rollback, runTool, stepRunner, ToolStepError } from '../tool-steps.js';
import { parsePiscesKittenOptions, type PiscesKittenOptions } from './config.js';
import { enclaveDevice, parseAddCpus, parseAddMemory, parseEnclaveProc, parseLaunch, parseLoad, parseShutdown } from './parse.js';

/** What destroy (and crash recovery) needs, journaled as the partition's handle. */
export interface PiscesKittenHandle {
  enclaveId: number;
  device: string;
  toolsDir: string;
  env: Record<string, string>;
  toolTimeoutMs: number;
  job: PiscesKittenOptions['job'];
}

export class PiscesKittenDriver implements PartitionDriver {
  readonly name = 'pisces-kitten' as const;

  async create(node: NodeTransport, spec: PartitionSpec, ctx: DriverContext): Promise<PartitionState> {
    const opts = parsePiscesKittenOptions(spec.name, spec.options);
    const cpus = expandCpuList(spec.cpus);
    if (cpus.length === 0) throw new Error(`partition ${spec.name} (pisces-kitten): cpus "${spec.cpus}" is empty; expected at least the boot CPU`);
    if (spec.devices?.length) throw new Error(`partition ${spec.name} (pisces-kitten): devices are not supported by this driver yet (got ${spec.devices.join(', ')})`);
    const numa = singleNumaNode(spec.name, 'pisces-kitten', spec.numa);
    const blocks = Math.max(opts.bootBlocks, Math.ceil(spec.memMb / opts.blockSizeMb));
    const tool = (name: string) => join(opts.toolsDir, name);
    const rollback = new Rollback();
    const step = stepRunner(node, ctx, spec.name, { env: opts.env, timeoutMs: opts.toolTimeoutMs });

    try {
      // No AbortSignal for load: killed half-way, it could leave an enclave whose id we never learn.
      const { enclaveId } = await step('load', [tool('pisces_load'), opts.kernel, opts.initrd, opts.cmdLine], parseLoad);
      const device = enclaveDevice(enclaveId);
      const handle: PiscesKittenHandle = { enclaveId, device, toolsDir: opts.toolsDir, env: opts.env, toolTimeoutMs: opts.toolTimeoutMs, job: opts.job };
      rollback.push(`free enclave ${enclaveId} (pisces_shutdown ${enclaveId})`, () => this.shutdown(node, handle, ctx, 'rollback'));

      const numaArgs = numa === undefined ? [] : ['-n', String(numa)];
      await step('launch', [tool('pisces_launch'), '-c', String(cpus[0]), '-m', String(opts.bootBlocks), ...numaArgs, device], (o) => parseLaunch(o, { enclaveId, cpu: cpus[0]!, blocks: opts.bootBlocks }), ctx.signal);
      if (blocks > opts.bootBlocks) {
        await step('add memory', [tool('pisces_ctrl'), '-m', String(blocks - opts.bootBlocks), ...numaArgs, device], (o) => parseAddMemory(o, { enclaveId, blocks: blocks - opts.bootBlocks }), ctx.signal);
      }
      if (cpus.length > 1) {
        // --explicit, not -e: pisces_ctrl's short option string declares "e:", so -e would eat the next argument.
        await step('add cpus', [tool('pisces_ctrl'), '--explicit', `--cpu=${cpus.slice(1).join(',')}`, device], parseAddCpus, ctx.signal);
      }
      const proc = join(opts.procDir, `enclave-${enclaveId}`);
      const owned = await step('verify', ['cat', join(proc, 'cpus'), join(proc, 'memory')], (o) => {
        const p = parseEnclaveProc(o.stdout);
        if (!p.ok) return { ok: false, reason: `${join(proc, 'cpus')} and memory: ${p.reason}` } as const;
        if (formatCpuList(p.cpus) !== formatCpuList(cpus)) return { ok: false, reason: `shows CPUs ${formatCpuList(p.cpus) || '(none)'}; expected ${formatCpuList(cpus)}` } as const;
        if (p.blocks !== blocks) return { ok: false, reason: `shows ${p.blocks} memory blocks; expected ${blocks}` } as const;
        return p;
      }, ctx.signal);
      ctx.log(`Partition ${spec.name}: enclave ${enclaveId} runs Kitten on CPUs ${formatCpuList(owned.cpus)} with ${blocks} memory blocks.`);
      return {
        name: spec.name,
        node: node.node,
        driver: this.name,
        cpus: formatCpuList(owned.cpus),
        memMb: blocks * opts.blockSizeMb,
        numa: numa === undefined ? null : String(numa),
        devices: [],
        handle: { ...handle },
      };
    } catch (err) {
      const { done, leaked } = await rollback.unwind(ctx);
      throw new CreateFailedError(err as Error, done, leaked);
    }
  }

  wrap(state: PartitionState, argv: readonly string[]): string[] {
    const h = readHandle(state);
    const where = `partition ${state.name} (pisces-kitten)`;
    if (argv.length === 0) throw new Error(`${where}: nothing to run`);
    // pisces_run joins the arguments with single spaces into one 255-byte string for Kitten, so an
    // argument with whitespace would be split there and a longer line would be cut.
    const bad = argv.find((a) => a === '' || /\s/.test(a));
    if (bad !== undefined) throw new Error(`${where}: argument ${JSON.stringify(bad)} is empty or contains whitespace; pisces_run passes arguments to Kitten as one space-separated string`);
    if (argv[0]!.length > 255) throw new Error(`${where}: executable path is ${argv[0]!.length} bytes; pisces_run takes at most 255`);
    const rest = argv.slice(1).join(' ');
    if (rest.length > 255) throw new Error(`${where}: arguments are ${rest.length} bytes together; pisces_run takes at most 255`);
    const job = [`--np=${h.job.ranks}`, ...(h.job.heapMb ? [`--heap_size=${h.job.heapMb}`] : [])];
    const env = Object.entries(h.env).map(([k, v]) => `${k}=${v}`);
    return [...(env.length ? ['env', ...env] : []), join(h.toolsDir, 'pisces_run'), h.device, ...job, '--', ...argv];
  }

  async destroy(node: NodeTransport, state: PartitionState, ctx: DriverContext): Promise<void> {
    await this.shutdown(node, readHandle(state), ctx, 'destroy');
  }

  /** `pisces_shutdown <id>`; an enclave that is already gone counts as done. */
  private async shutdown(node: NodeTransport, h: PiscesKittenHandle, ctx: Pick<DriverContext, 'log'>, step: string): Promise<void> {
    const argv = [join(h.toolsDir, 'pisces_shutdown'), String(h.enclaveId)];
    const out = await runTool(node, step, argv, { env: h.env, timeoutMs: h.toolTimeoutMs });
    const r = parseShutdown(out);
    if (!r.ok) throw new ToolStepError(node.node, step, 'pisces_shutdown', r.reason, out);
    if (r.kind === 'gone') ctx.log(`Enclave ${h.enclaveId} on node ${node.node} is already gone.`);
    else ctx.log(`Enclave ${h.enclaveId} on node ${node.node} freed; CPUs ${formatCpuList(r.cpus) || '(none)'} and ${r.blocks.length} memory blocks back online.`);
  }
}

/** The handle of a pisces-kitten partition, checked (it may come from a journal written by another version). */
export function readHandle(state: PartitionState): PiscesKittenHandle {
  const h = state.handle as Partial<PiscesKittenHandle>;
  if (typeof h.enclaveId !== 'number' || typeof h.device !== 'string' || typeof h.toolsDir !== 'string') {
    throw new Error(`partition ${state.name} (pisces-kitten): handle ${JSON.stringify(state.handle)} lacks enclaveId, device or toolsDir`);
  }
  return { enclaveId: h.enclaveId, device: h.device, toolsDir: h.toolsDir, env: h.env ?? {}, toolTimeoutMs: h.toolTimeoutMs ?? 60_000, job: h.job ?? { ranks: 1 } };
}
