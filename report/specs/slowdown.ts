/**
 * The slowdown figure: per cell (stack × node count) the slowdown with background (ratio of
 * geometric means, > 1 = slower) with its Welch interval, and a rule at 1 (no interference).
 */
import type { ExperimentComparison } from '../../query/compare.js';
import { BASE_CONFIG, tableOf, type Figure, type SpecOptions } from './common.js';

export interface SlowdownRow {
  cell: string;
  workload: string;
  stack: string;
  nodes: number;
  slowdown: number;
  low: number | null;
  high: number | null;
  runs_alone: number;
  runs_with_background: number;
}

export const cellLabel = (stack: string, nodes: number) => `${stack} · ${nodes} node${nodes === 1 ? '' : 's'}`;

export function slowdownRows(c: ExperimentComparison): SlowdownRow[] {
  return c.cells
    .filter((cell) => cell.slowdown_estimate !== null)
    .map((cell) => ({
      cell: cellLabel(cell.stack, cell.node_count), workload: cell.workload, stack: cell.stack, nodes: cell.node_count,
      slowdown: cell.slowdown_estimate!, low: cell.slowdown?.low ?? null, high: cell.slowdown?.high ?? null,
      runs_alone: cell.baseline.n, runs_with_background: cell.interfered.n,
    }));
}

export function slowdownFigure(c: ExperimentComparison, o: SpecOptions = {}): Figure {
  const rows = slowdownRows(c);
  const table = tableOf(
    [{ name: 'workload', type: 'text' }, { name: 'stack', type: 'text' }, { name: 'nodes', type: 'integer' }, { name: 'slowdown', type: 'double' }, { name: 'low', type: 'double' }, { name: 'high', type: 'double' }, { name: 'runs_alone', type: 'integer' }, { name: 'runs_with_background', type: 'integer' }],
    rows as unknown as Record<string, unknown>[],
  );
  const interval = rows.some((r) => r.low !== null) ? `error bars: ${Math.round(c.level * 100)} % Welch interval on the log scale` : 'no interval (fewer than two repetitions on a side)';
  const caption = `Slowdown of ${c.figure ?? 'the result'} with background per cell: ratio of geometric means, > 1 means slower with background; ${interval}.`;
  const base = { name: 'slowdown', title: 'Slowdown with background', caption, table };
  if (rows.length === 0) {
    const why = c.cells.flatMap((cell) => cell.notes.filter((n) => /^no finished run/.test(n)).map((n) => `${cellLabel(cell.stack, cell.node_count)}: ${n}`));
    return { ...base, spec: null, empty: `no cell has finished runs both alone and with background${why.length ? ` (${[...new Set(why)].join('; ')})` : ''}` };
  }
  const x = { field: 'cell', type: 'nominal', title: null, sort: rows.map((r) => r.cell), axis: { labelAngle: 0 } };
  const tooltip = [{ field: 'cell' }, { field: 'slowdown', format: '.4~g' }, { field: 'low', format: '.4~g' }, { field: 'high', format: '.4~g' }, { field: 'runs_alone' }, { field: 'runs_with_background' }];
  const spec = {
    title: base.title,
    width: { step: 110 },
    height: 260,
    data: { values: rows },
    layer: [
      { name: 'points', mark: { type: 'point', filled: true, size: 80, color: '#e45756' }, encoding: { x, y: { field: 'slowdown', type: 'quantitative', title: 'slowdown (× baseline)', scale: { zero: false } }, ...(o.interactive ? { tooltip } : {}) } },
      { name: 'errors', transform: [{ filter: 'datum.low != null && datum.high != null' }], mark: { type: 'rule', color: '#222' }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { name: 'parity', data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
    ],
    config: BASE_CONFIG,
  };
  return { ...base, spec, empty: null };
}
