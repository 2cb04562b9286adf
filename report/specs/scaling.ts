/**
 * The scaling figure (the seed's headline): the figure of merit against node count, one line per
 * isolation stack, alone and with background as two line styles, at the geometric mean of the
 * repetitions with its 95 % interval as error bars. With a single node count it becomes bars per
 * stack, alone and with background side by side.
 */
import type { ExperimentComparison } from '../../query/compare.js';
import { BASE_CONFIG, CONDITION_COLORS, CONDITIONS, tableOf, type Figure, type SpecOptions } from './common.js';

export interface ScalingRow {
  stack: string;
  workload: string;
  nodes: number;
  condition: (typeof CONDITIONS)[number];
  value: number;
  low: number | null;
  high: number | null;
  repetitions: number;
}

export function scalingRows(c: ExperimentComparison): ScalingRow[] {
  const rows: ScalingRow[] = [];
  for (const cell of c.cells) {
    for (const [condition, side] of [['alone', cell.baseline], ['with background', cell.interfered]] as const) {
      const g = side.geometric_mean;
      if (!g) continue;
      rows.push({ stack: cell.stack, workload: cell.workload, nodes: cell.node_count, condition, value: g.estimate, low: g.low, high: g.high, repetitions: g.n });
    }
  }
  return rows;
}

function figureLabel(c: ExperimentComparison): string {
  return `${c.figure ?? 'result'}${c.unit ? ` (${c.unit})` : ''}`;
}

function caption(c: ExperimentComparison, rows: ScalingRow[]): string {
  const reps = [...new Set(rows.map((r) => r.repetitions))].sort((a, b) => a - b);
  const repText = reps.length === 0 ? 'no finished repetitions' : `${reps.join('–')} repetition${reps.at(-1) === 1 ? '' : 's'} per point`;
  const interval = rows.some((r) => r.low !== null) ? `error bars: ${Math.round(c.level * 100)} % interval of the geometric mean (t on the log scale)` : 'no interval (fewer than two repetitions)';
  return `${c.experiment}: ${figureLabel(c)}, ${c.higher_is_better ? 'higher' : 'lower'} is better; geometric mean of ${repText}; ${interval}.`;
}

/**
 * The value axis: the means, and their intervals up to twice the largest mean (down to half the
 * smallest). With 2 repetitions the t factor is 12.7, so one noisy cell's interval would otherwise
 * stretch the axis until every line lies flat at the bottom; the cut part is clipped, not hidden.
 */
function valueDomain(rows: ScalingRow[], fromZero: boolean): { low: number; high: number; cut: boolean } {
  const values = rows.map((r) => r.value);
  const [minV, maxV] = [Math.min(...values), Math.max(...values)];
  const highs = rows.map((r) => r.high ?? r.value);
  const lows = rows.map((r) => r.low ?? r.value);
  const high = Math.min(Math.max(maxV, ...highs), 2 * maxV);
  const low = fromZero ? Math.min(0, minV) : Math.max(Math.min(minV, ...lows), minV > 0 ? minV / 2 : minV - (maxV - minV));
  const cut = highs.some((h) => h > high) || (!fromZero && lows.some((l) => l < low));
  return { low, high: high > low ? high : low + Math.abs(low || 1), cut };
}

export function scalingFigure(c: ExperimentComparison, o: SpecOptions = {}): Figure {
  const rows = scalingRows(c);
  const table = tableOf(
    [{ name: 'workload', type: 'text' }, { name: 'stack', type: 'text' }, { name: 'nodes', type: 'integer' }, { name: 'condition', type: 'text' }, { name: 'value', type: 'double' }, { name: 'low', type: 'double' }, { name: 'high', type: 'double' }, { name: 'repetitions', type: 'integer' }],
    rows as unknown as Record<string, unknown>[],
  );
  const cut = rows.length > 0 && valueDomain(rows, new Set(rows.map((r) => r.nodes)).size === 1).cut;
  const base = { name: 'scaling', title: `${c.figure ?? 'Result'} against node count`, caption: caption(c, rows) + (cut ? ' Intervals reaching past twice the largest mean (or below half the smallest) are cut at the edge of the plot; their ends are in the table.' : ''), table };
  if (rows.length === 0) return { ...base, spec: null, empty: `nothing to draw: no run of ${c.experiment} finished with ${c.figure ? `figure ${c.figure}` : 'a result'} (${c.runs.fail} failed, ${c.runs.abort} aborted, ${c.runs.running} not ended)` };
  const nodeCounts = new Set(rows.map((r) => r.nodes));
  const domain = valueDomain(rows, nodeCounts.size === 1);
  const y = { field: 'value', type: 'quantitative', title: figureLabel(c), scale: { domain: [domain.low, domain.high], zero: nodeCounts.size === 1 } };
  const color = { field: 'condition', type: 'nominal', title: 'background', scale: { domain: [...CONDITIONS], range: [CONDITION_COLORS.alone, CONDITION_COLORS['with background']] } };
  const tooltip = [
    { field: 'stack' }, { field: 'nodes' }, { field: 'condition' },
    { field: 'value', format: '.4~g', title: 'geometric mean' }, { field: 'low', format: '.4~g' }, { field: 'high', format: '.4~g' }, { field: 'repetitions' },
  ];
  const withInterval = { filter: 'datum.low != null && datum.high != null' };
  let layer: Record<string, unknown>[];
  let encoding: Record<string, unknown>;
  if (nodeCounts.size === 1) {
    // One node count: bars per stack, the two conditions side by side.
    encoding = { x: { field: 'stack', type: 'nominal', title: `stack (${[...nodeCounts][0]} node${[...nodeCounts][0] === 1 ? '' : 's'})`, axis: { labelAngle: 0 } }, xOffset: { field: 'condition', type: 'nominal', sort: [...CONDITIONS] } };
    layer = [
      { name: 'bars', mark: { type: 'bar' }, encoding: { y, color, ...(o.interactive ? { tooltip, opacity: { condition: { param: 'pick', value: 1 }, value: 0.25 } } : {}) }, ...(o.interactive ? { params: [{ name: 'pick', select: { type: 'point', fields: ['condition'] }, bind: 'legend' }] } : {}) },
      { name: 'errors', transform: [withInterval], mark: { type: 'rule', color: '#222', clip: true }, encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
    ];
  } else {
    encoding = { x: { field: 'nodes', type: 'quantitative', title: 'nodes', axis: { tickMinStep: 1 }, scale: { zero: false, nice: false, padding: 12 } } };
    const stroke = { field: 'condition', type: 'nominal', title: 'background', sort: [...CONDITIONS], scale: { domain: [...CONDITIONS], range: [[1, 0], [6, 4]] } };
    const stackColor = { field: 'stack', type: 'nominal', title: 'stack' };
    const sel = o.interactive ? { opacity: { condition: { param: 'pick', value: 1 }, value: 0.15 } } : {};
    layer = [
      { name: 'lines', mark: { type: 'line' }, encoding: { y, color: stackColor, strokeDash: stroke, detail: { field: 'condition' }, ...sel }, ...(o.interactive ? { params: [{ name: 'pick', select: { type: 'point', fields: ['stack', 'condition'] }, bind: 'legend' }] } : {}) },
      { name: 'points', mark: { type: 'point', filled: true, size: 50 }, encoding: { y, color: stackColor, shape: { field: 'condition', type: 'nominal', title: 'background', sort: [...CONDITIONS] }, ...(o.interactive ? { tooltip } : {}), ...sel } },
      { name: 'errors', transform: [withInterval], mark: { type: 'rule', clip: true }, encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: stackColor, ...sel } },
    ];
  }
  const spec = {
    title: base.title,
    width: nodeCounts.size === 1 ? { step: 90 } : 480,
    height: 300,
    data: { values: rows },
    encoding,
    layer,
    config: BASE_CONFIG,
  };
  return { ...base, spec, empty: null };
}

