/**
 * The figure specs on a hand-made comparison with two stacks and two node counts, rendered by the
 * real vega: lines per stack × condition, a point and an error bar per cell side with an interval,
 * and the sentences for what cannot be drawn.
 */
import { describe, expect, it } from 'vitest';
import type { ExperimentComparison } from '../../query/compare.js';
import { renderSvg } from '../render.js';
import { countMarks } from '../testing.js';
import { movedFigure } from './moved.js';
import { scalingFigure } from './scaling.js';
import { slowdownFigure } from './slowdown.js';

const side = (estimate: number, n: number) => ({ runs: [], n, mean: estimate, results: [], geometric_mean: n ? { estimate, low: n > 1 ? estimate * 0.9 : null, high: n > 1 ? estimate * 1.1 : null, n, level: 0.95 } : null });
const cell = (stack: string, nodes: number, alone: number, bg: number, n = 3) => ({
  workload: 'hpcc', stack, node_count: nodes, baseline: side(alone, n), interfered: side(bg, n),
  slowdown: n > 1 ? { estimate: alone / bg, low: alone / bg - 0.1, high: alone / bg + 0.1, df: 4, level: 0.95 } : null,
  slowdown_estimate: alone / bg, difference: null, notes: [],
  metrics: [{ scope: 'workload', partition: 'app', metric: 'task-clock', unit: 'ns', derived: false, baseline_mean: 1, interfered_mean: 0.5, delta: -0.5, relative_delta: -0.5, hedges_g: n > 1 ? -3 : null, n_baseline: n, n_interfered: n }],
});
const comparison = (cells: ReturnType<typeof cell>[]) => ({ experiment: 'e', figure: 'hpl', spec_hash: 'h', versions: ['h'], unit: 'GFLOP/s', higher_is_better: true, level: 0.95, runs: { total: 0, end: 0, fail: 0, abort: 0, running: 0, usable: 0 }, figures: ['hpl'], cells }) as unknown as ExperimentComparison;

describe('figure specs', () => {
  it('scaling: a line per stack and condition, a point and an error bar per cell side', async () => {
    const c = comparison([cell('linux', 1, 4, 2), cell('linux', 2, 8, 5), cell('kitten', 1, 4.5, 4), cell('kitten', 2, 9, 8.5)]);
    const f = scalingFigure(c);
    expect(f.table.rows).toHaveLength(8);
    expect(f.caption).toMatch(/3 repetitions per point; error bars: 95 % interval/);
    const svg = await renderSvg(f.spec!);
    expect(countMarks(svg, 'points_marks')).toBe(8);
    expect(countMarks(svg, 'errors_marks')).toBe(8);
    expect(countMarks(svg, 'lines_marks')).toBe(4);
    const slow = await renderSvg(slowdownFigure(c).spec!);
    expect(countMarks(slow, 'points_marks')).toBe(4);
    expect(countMarks(slow, 'errors_marks')).toBe(4);
  });

  it('scaling: an interval far wider than the means (2 repetitions) is cut at the plot edge, not stretching the axis', async () => {
    const wide = cell('linux', 4, 1.0, 1.1, 2);
    wide.baseline.geometric_mean!.low = 0.01;
    wide.baseline.geometric_mean!.high = 150;
    const c = comparison([cell('linux', 1, 4.6, 3.6), cell('linux', 2, 3, 1.3), wide]);
    const f = scalingFigure(c);
    const y = (f.spec as { layer: { encoding: { y: { scale?: { domain: number[] } } } }[] }).layer[0]!.encoding.y.scale!.domain;
    expect(y[1]).toBeCloseTo(9.2); // twice the largest mean, not 150
    expect(y[0]).toBeCloseTo(0.5); // half the smallest mean, not 0.01
    expect(f.caption).toMatch(/cut at the edge of the plot; their ends are in the table/);
    const high = f.table.columns.findIndex((col) => col.name === 'high');
    expect(f.table.rows.some((r) => r[high] === 150)).toBe(true);
    const svg = await renderSvg(f.spec!);
    expect(countMarks(svg, 'errors_marks')).toBe(6);
    // Without such an interval the axis covers every interval and the caption says nothing of cuts.
    expect(scalingFigure(comparison([cell('linux', 1, 4, 2), cell('linux', 2, 8, 5)])).caption).not.toMatch(/cut at the edge/);
  });

  it('one repetition: points without error bars, relative change instead of g', async () => {
    const c = comparison([cell('linux', 1, 4, 2, 1)]);
    const f = scalingFigure(c);
    expect(f.caption).toMatch(/1 repetition per point; no interval/);
    const svg = await renderSvg(f.spec!);
    expect(countMarks(svg, 'bars_marks')).toBe(2);
    expect(countMarks(svg, 'errors_marks')).toBe(0);
    expect(slowdownFigure(c).caption).toMatch(/no interval/);
    expect(movedFigure(c).caption).toMatch(/relative change/);
  });

  it('says why when there is nothing to draw', () => {
    const c = comparison([{ ...cell('linux', 1, 4, 2), interfered: side(0, 0), slowdown: null, slowdown_estimate: null, notes: ['no finished run with background'], metrics: [] } as never]);
    expect(slowdownFigure(c).empty).toMatch(/no cell has finished runs both alone and with background \(linux · 1 node: no finished run with background\)/);
    expect(movedFigure(c).empty).toMatch(/no samples are tagged with these runs/);
    expect(scalingFigure(comparison([])).empty).toMatch(/no run of e finished/);
  });
});
