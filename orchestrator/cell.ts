/** Per-cell helpers of the runner: run ids, the `runs` record of a cell, the partitions per node. */
import { randomBytes } from 'node:crypto';
import { nowNs } from '../core/clock.js';
import type { RecordInput } from '../schema/records.js';
import type { PartitionSpec } from './drivers/driver.js';
import type { Cell } from './experiment/matrix.js';
import type { Experiment } from './experiment/schema.js';
import { hostCpus } from './node-cpus.js';

/** `<experiment>.<cell key>.<6 hex>`: unique across experiments and attempts, safe in paths. */
export function runId(experiment: string, cell: Cell): string {
  return `${experiment}.${cell.key}.${randomBytes(3).toString('hex')}`;
}

export function cellRecord(spec: Experiment, cell: Cell, run: string, phase: 'start' | 'end' | 'fail' | 'abort', config: Record<string, unknown>): RecordInput<'runs'> {
  return {
    ts: nowNs(),
    run,
    experiment: spec.experiment,
    workload: spec.workload.entry,
    phase,
    nodes: cell.nodes.join(','),
    node_count: cell.nodeCount,
    stack: cell.stack,
    background: cell.background,
    repetition: cell.repetition,
    config,
    result: null,
    unit: null,
    message: null,
  };
}

/**
 * The stack's partitions each used node gets (a partition without `nodes` goes on every used node),
 * their `cpus` turned into the machine's CPUs by the node's `cpus` (node-cpus.ts).
 * @throws when a partition names a CPU its node does not have (preflight reports it first).
 */
export function partitionsFor(spec: Experiment, cell: Cell, usedNodes: string[]): Map<string, PartitionSpec[]> {
  const stack = spec.stacks.find((s) => s.name === cell.stack);
  if (!stack) throw new Error(`no stack "${cell.stack}"`);
  const out = new Map<string, PartitionSpec[]>();
  for (const node of usedNodes) {
    const nodeCpus = spec.nodes.find((n) => n.name === node)?.cpus;
    const specs = stack.partitions
      .filter((p) => !p.nodes || p.nodes.includes(node))
      .map((p): PartitionSpec => ({
        name: p.name,
        driver: p.driver,
        cpus: hostCpus(nodeCpus, p.cpus),
        memMb: p.memMb,
        ...(p.numa !== undefined ? { numa: p.numa } : {}),
        devices: p.devices,
        options: p.options,
        ...(p.parent !== undefined ? { parent: p.parent } : {}),
      }));
    if (specs.length) out.set(node, specs);
  }
  return out;
}
