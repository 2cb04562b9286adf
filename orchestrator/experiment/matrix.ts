/**
 * Expands an experiment's matrix into cells, in a stable order: stack × node count × repetition ×
 * background (so alone and interfered runs alternate and drift hits both alike). A cell's `key` names it across restarts (the journal records finished keys), so a
 * restarted orchestrator continues where it stopped.
 */
import type { Experiment } from './schema.js';

export interface Cell {
  /** Stable name, e.g. `linux.n1.bg.r2`. */
  key: string;
  stack: string;
  nodeCount: number;
  /** Nodes the workload runs on (the first `nodeCount` of the workload's node pool). */
  nodes: string[];
  background: boolean;
  repetition: number;
}

export function expandMatrix(spec: Experiment): Cell[] {
  const pool = spec.workload.nodes ?? spec.nodes.map((n) => n.name);
  const stacks = spec.matrix.stacks ?? spec.stacks.map((s) => s.name);
  const cells: Cell[] = [];
  for (const stack of stacks) {
    for (const nodeCount of spec.matrix.nodeCounts) {
      for (let repetition = 1; repetition <= spec.matrix.repetitions; repetition++) {
        for (const background of spec.matrix.background) {
          cells.push({
            key: `${stack}.n${nodeCount}.${background ? 'bg' : 'alone'}.r${repetition}`,
            stack,
            nodeCount,
            nodes: pool.slice(0, nodeCount),
            background,
            repetition,
          });
        }
      }
    }
  }
  return cells;
}
