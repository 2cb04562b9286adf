/**
 * Crash recovery: runs the journal shows open (started, never closed) are recorded `abort`, after
 * the partitions they left behind are destroyed from their journaled handles. A partition that
 * cannot be destroyed now (node unreachable) keeps its run open, so the next start tries again.
 */
import type { PartitionDriver, PartitionState } from './drivers/driver.js';
import type { RecordEmitter } from './emitter.js';
import type { Journal, JournalState } from './journal.js';
import type { Nodes } from './nodes.js';
import { nowNs } from '../core/clock.js';
import { cellRecord } from './cell.js';
import { expandMatrix } from './experiment/matrix.js';
import type { LoadedExperiment } from './experiment/load.js';

export interface RecoveryDeps {
  journal: Journal;
  emitter: RecordEmitter;
  nodes: Nodes;
  driver: (s: PartitionState) => PartitionDriver;
  experiment: LoadedExperiment;
  progress: (message: string) => void;
  /** Removes the run's work directories on its nodes (best effort). */
  removeRunDirs: (run: string, nodes: readonly string[]) => Promise<void>;
}

/** @returns how many runs were closed as `abort`. */
export async function recover(state: JournalState, d: RecoveryDeps): Promise<number> {
  const cells = expandMatrix(d.experiment.spec);
  let closed = 0;
  for (const open of state.open) {
    const left: string[] = [];
    for (const p of [...open.partitions].reverse()) {
      try {
        d.progress(`recovery: destroying partition ${p.name} on ${p.node} left by run ${open.run}`);
        await d.driver(p).destroy(await d.nodes.get(p.node), p, { experiment: d.experiment.spec.experiment, run: open.run, log: d.progress, siblings: new Map() });
        d.journal.append({ t: 'partition-destroyed', run: open.run, node: p.node, name: p.name });
        await d.emitter.partition(p, 'destroy', open.run, 'destroyed on restart after the orchestrator stopped');
      } catch (err) {
        left.push(`${p.name} on ${p.node}: ${(err as Error).message}`);
      }
    }
    await d.removeRunDirs(open.run, open.nodes).catch(() => undefined);
    if (left.length) {
      d.progress(`recovery: run ${open.run} stays open, partitions not removed yet: ${left.join('; ')}`);
      continue;
    }
    const cell = cells.find((c) => c.key === open.cell);
    const base = cell
      ? cellRecord(d.experiment.spec, cell, open.run, 'abort', { cell: open.cell, spec_hash: d.experiment.specHash, recovered: true })
      : { ts: nowNs(), run: open.run, experiment: d.experiment.spec.experiment, workload: d.experiment.spec.workload.entry, phase: 'abort' as const, nodes: open.nodes.join(','), node_count: open.nodes.length, stack: '', background: false, repetition: 0, config: { cell: open.cell, recovered: true }, result: null, unit: null, message: null };
    await d.emitter.run({ ...base, message: 'the orchestrator stopped during this run (crash or kill); recorded as aborted on restart, its partitions were destroyed' });
    d.journal.append({ t: 'run', phase: 'abort', run: open.run, cell: open.cell, ts: String(nowNs()) });
    closed++;
  }
  return closed;
}
