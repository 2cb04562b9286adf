/**
 * What moved: per cell and scope (the workload's partition, each background partition, node-wide),
 * the metrics whose per-run values moved most between runs alone and with background, as bars of
 * Hedges' g (relative change when no run count allows g), from the compare answer.
 */
import type { ExperimentComparison } from '../../query/compare.js';
import { BASE_CONFIG, tableOf, type Figure, type SpecOptions } from './common.js';
import { cellLabel } from './slowdown.js';

export interface MovedRow {
  cell: string;
  scope: string;
  metric: string;
  unit: string | null;
  derived: boolean;
  alone: number | null;
  with_background: number | null;
  delta: number | null;
  relative_change: number | null;
  hedges_g: number | null;
  runs_alone: number;
  runs_with_background: number;
}

export function scopeLabel(scope: string, partition: string | null): string {
  if (scope === 'node') return 'node-wide';
  if (scope === 'workload') return `workload${partition ? ` (${partition})` : ''}`;
  return `${scope} (${partition ?? '?'})`;
}

export function movedRows(c: ExperimentComparison, perScope = 5): MovedRow[] {
  const rows: MovedRow[] = [];
  for (const cell of c.cells) {
    const counts = new Map<string, number>();
    for (const m of cell.metrics) {
      const scope = scopeLabel(m.scope, m.partition);
      const k = (counts.get(scope) ?? 0) + 1;
      counts.set(scope, k);
      if (k > perScope) continue;
      rows.push({
        cell: cellLabel(cell.stack, cell.node_count), scope, metric: m.metric, unit: m.unit, derived: m.derived,
        alone: m.baseline_mean, with_background: m.interfered_mean, delta: m.delta, relative_change: m.relative_delta,
        hedges_g: m.hedges_g, runs_alone: m.n_baseline, runs_with_background: m.n_interfered,
      });
    }
  }
  return rows;
}

export function movedFigure(c: ExperimentComparison, o: SpecOptions & { perScope?: number } = {}): Figure {
  const rows = movedRows(c, o.perScope);
  const table = tableOf(
    [{ name: 'cell', type: 'text' }, { name: 'scope', type: 'text' }, { name: 'metric', type: 'text' }, { name: 'unit', type: 'text' }, { name: 'derived', type: 'boolean' }, { name: 'alone', type: 'double' }, { name: 'with_background', type: 'double' }, { name: 'delta', type: 'double' }, { name: 'relative_change', type: 'double' }, { name: 'hedges_g', type: 'double' }, { name: 'runs_alone', type: 'integer' }, { name: 'runs_with_background', type: 'integer' }],
    rows as unknown as Record<string, unknown>[],
  );
  const useG = rows.some((r) => r.hedges_g !== null);
  const field = useG ? 'hedges_g' : 'relative_change';
  const drawn = rows.filter((r) => r[field] !== null).map((r) => ({ ...r, panel: `${r.cell} — ${r.scope}` }));
  const caption = useG
    ? "Metrics that moved most per cell and scope: Hedges' g of the per-run values with background against alone (runs are the units); positive = higher with background."
    : 'Metrics that moved most per cell and scope: relative change with background (fewer than two runs a side: no effect size).';
  const base = { name: 'moved', title: 'What moved', caption, table };
  if (drawn.length === 0) {
    return { ...base, spec: null, empty: rows.length === 0 ? 'no samples are tagged with these runs: no collector ran during them, or its node name did not match the experiment\'s nodes (see README, "Experiments")' : 'no metric was measured both alone and with background' };
  }
  const spec = {
    title: base.title,
    data: { values: drawn },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: [...new Set(drawn.map((r) => r.panel))], header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      name: 'bars',
      width: 360,
      height: { step: 16 },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'metric', type: 'nominal', title: null, sort: { field: field === 'hedges_g' ? 'hedges_g' : 'relative_change', op: 'max', order: 'descending' } },
        x: { field, type: 'quantitative', title: useG ? "Hedges' g (with background vs alone)" : 'relative change', ...(useG ? {} : { axis: { format: '%' } }) },
        color: { condition: { test: `datum.${field} > 0`, value: '#e45756' }, value: '#4c78a8' },
        ...(o.interactive ? { tooltip: [{ field: 'metric' }, { field: 'unit' }, { field: 'alone', format: '.4~g' }, { field: 'with_background', format: '.4~g' }, { field: 'relative_change', format: '.1%' }, { field: 'hedges_g', format: '.2f' }] } : {}),
      },
    },
    resolve: { scale: { y: 'independent' } },
    config: BASE_CONFIG,
  };
  return { ...base, spec, empty: null };
}
