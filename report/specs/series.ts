/**
 * Aligned series: for the counters that moved most, every run of a cell on `t_rel` (seconds since
 * its start), alone and with background overlaid in two colours, one panel per counter; background
 * start/stop (first and last output of a background partition) and partition create/destroy marked
 * as vertical rules. Built from /api/series answers, so the report and the explorer draw the same.
 */
import { BASE_CONFIG, CONDITION_COLORS, CONDITIONS, tableOf, type Figure, type SpecOptions } from './common.js';

/** The parts of a /api/series answer used here. */
export interface SeriesAnswer {
  step_s: number;
  series: { run: string; partition?: string | null; node?: string; cpu?: number; points: [number, number | null, number][] }[];
  events: {
    partitions: { t_rel_s: number; run: string; partition: string | null; node?: string; action: string }[];
    events: { t_rel_s: number; run: string; partition: string | null; kind: string; message?: string | null }[];
  };
}

export interface SeriesPanel {
  metric: string;
  unit: string | null;
  /** Whose values: a partition, or null for node-wide values. */
  partition: string | null;
  points: { metric: string; run: string; condition: string; t_rel_s: number; value: number }[];
  marks: { metric: string; run: string; condition: string; t_rel_s: number; event: string }[];
}

/**
 * One panel from a /api/series answer asked with `by=partition`: the series of `partition` (null:
 * samples of no partition), the conditions from `background` per run, and the marks.
 */
export function seriesPanel(metric: string, unit: string | null, partition: string | null, background: Record<string, boolean>, backgroundPartitions: string[], answer: SeriesAnswer): SeriesPanel {
  const condition = (run: string) => (background[run] ? CONDITIONS[1] : CONDITIONS[0]);
  const points: SeriesPanel['points'] = [];
  for (const s of answer.series) {
    if ((s.partition ?? null) !== partition) continue;
    for (const [t, v] of s.points) if (v !== null && Number.isFinite(v)) points.push({ metric, run: s.run, condition: condition(s.run), t_rel_s: t, value: v });
  }
  const marks: SeriesPanel['marks'] = [];
  for (const p of answer.events.partitions) {
    if (p.action === 'create' || p.action === 'destroy') marks.push({ metric, run: p.run, condition: condition(p.run), t_rel_s: p.t_rel_s, event: `partition ${p.action}` });
  }
  const bgOutput = new Map<string, number[]>();
  for (const e of answer.events.events) {
    if (e.partition === null || !backgroundPartitions.includes(e.partition)) continue;
    bgOutput.set(e.run, [...(bgOutput.get(e.run) ?? []), e.t_rel_s]);
  }
  for (const [run, ts] of bgOutput) {
    marks.push({ metric, run, condition: condition(run), t_rel_s: Math.min(...ts), event: 'background start' });
    marks.push({ metric, run, condition: condition(run), t_rel_s: Math.max(...ts), event: 'background stop' });
  }
  return { metric, unit, partition, points, marks };
}

const MARK_DASH: Record<string, number[]> = { 'background start': [2, 2], 'background stop': [2, 2], 'partition create': [6, 3], 'partition destroy': [6, 3] };

export function seriesFigure(cell: string, panels: SeriesPanel[], o: SpecOptions & { why?: string } = {}): Figure {
  const points = panels.flatMap((p) => p.points.map((x) => ({ ...x, panel: panelTitle(p) })));
  const marks = panels.flatMap((p) => p.marks.map((x) => ({ ...x, panel: panelTitle(p) })));
  const table = tableOf(
    [{ name: 'metric', type: 'text' }, { name: 'panel', type: 'text' }, { name: 'run', type: 'text' }, { name: 'condition', type: 'text' }, { name: 't_rel_s', type: 'double' }, { name: 'value', type: 'double' }],
    points as unknown as Record<string, unknown>[],
  );
  const caption = `${cell}: the counters that moved most, every run on t_rel (seconds since its start), alone and with background overlaid; rules: background start/stop (dotted) and partition create/destroy (dashed).`;
  const base = { name: 'series', title: `Aligned series, ${cell}`, caption, table };
  if (points.length === 0) return { ...base, spec: null, empty: o.why ?? 'no samples are tagged with these runs, so there is no series to align' };
  const color = { field: 'condition', type: 'nominal', title: 'background', scale: { domain: [...CONDITIONS], range: [CONDITION_COLORS.alone, CONDITION_COLORS['with background']] } };
  const values = [...points.map((p) => ({ ...p, kind: 'point' })), ...marks.map((m) => ({ ...m, kind: 'mark' }))];
  const spec = {
    title: base.title,
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: panels.map(panelTitle), header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      width: 520,
      height: 140,
      layer: [
        {
          name: 'lines',
          transform: [{ filter: "datum.kind === 'point'" }],
          mark: { type: 'line', point: false, strokeWidth: 1.5 },
          encoding: {
            x: { field: 't_rel_s', type: 'quantitative', title: 't_rel (s since run start)' },
            y: { field: 'value', type: 'quantitative', title: null },
            color,
            detail: { field: 'run' },
            ...(o.interactive ? { opacity: { condition: { param: 'pick', value: 0.9 }, value: 0.1 } } : {}),
          },
          ...(o.interactive ? { params: [{ name: 'pick', select: { type: 'point', fields: ['condition'] }, bind: 'legend' }] } : {}),
        },
        ...(o.interactive
          ? [{ transform: [{ filter: "datum.kind === 'point'" }], mark: { type: 'point', size: 20, opacity: 0.01 }, encoding: { x: { field: 't_rel_s', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' }, tooltip: [{ field: 'run' }, { field: 'condition' }, { field: 't_rel_s', format: '.2f' }, { field: 'value', format: '.4~g' }] } }]
          : []),
        {
          name: 'marks',
          transform: [{ filter: "datum.kind === 'mark'" }],
          mark: { type: 'rule', opacity: 0.5 },
          encoding: {
            x: { field: 't_rel_s', type: 'quantitative' },
            color,
            strokeDash: { field: 'event', type: 'nominal', title: 'event', scale: { domain: Object.keys(MARK_DASH), range: Object.values(MARK_DASH) } },
            ...(o.interactive ? { tooltip: [{ field: 'event' }, { field: 'run' }, { field: 't_rel_s', format: '.2f' }] } : {}),
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
    config: BASE_CONFIG,
  };
  return { ...base, spec, empty: null };
}

export function panelTitle(p: Pick<SeriesPanel, 'metric' | 'unit' | 'partition'>): string {
  return `${p.metric}${p.unit ? ` (${p.unit})` : ''} — ${p.partition === null ? 'node-wide' : `partition ${p.partition}`}`;
}
