/**
 * One metric of one or more runs on t_rel, a line per series (run × node/cpu/partition as asked),
 * with the runs' partition actions and events as rules: the explorer's run and compare pages.
 */
import { BASE_CONFIG, tableOf, type Figure, type SpecOptions } from './common.js';
import type { SeriesAnswer } from './series.js';

export interface RunSeriesAnswer extends SeriesAnswer {
  metric: string;
  by: string[];
  events: SeriesAnswer['events'] & { runs?: { t_rel_s: number; run: string; phase: string }[] };
}

export function seriesLabel(s: SeriesAnswer['series'][number], by: string[], multiRun: boolean): string {
  const parts = by.map((b) => `${b}=${String((s as Record<string, unknown>)[b] ?? 'none')}`);
  if (multiRun || parts.length === 0) parts.unshift(s.run);
  return parts.join(' ');
}

export function runSeriesFigure(a: RunSeriesAnswer, unit: string | null, o: SpecOptions & { title?: string } = {}): Figure {
  const runs = new Set(a.series.map((s) => s.run));
  const points = a.series.flatMap((s) => s.points.filter((p) => p[1] !== null).map(([t, v, n]) => ({ series: seriesLabel(s, a.by, runs.size > 1), run: s.run, t_rel_s: t, value: v, n })));
  const marks = [
    ...a.events.partitions.map((p) => ({ t_rel_s: p.t_rel_s, run: p.run, event: `partition ${p.partition ?? ''} ${p.action}`.replace('  ', ' '), kind: 'partition' })),
    ...a.events.events.filter((e) => e.kind !== 'app_output').map((e) => ({ t_rel_s: e.t_rel_s, run: e.run, event: `${e.kind}${e.message ? `: ${e.message}` : ''}`, kind: 'event' })),
    ...(a.events.runs ?? []).map((r) => ({ t_rel_s: r.t_rel_s, run: r.run, event: `run ${r.phase}`, kind: 'run' })),
  ];
  const table = tableOf([{ name: 'series', type: 'text' }, { name: 'run', type: 'text' }, { name: 't_rel_s', type: 'double' }, { name: 'value', type: 'double' }, { name: 'n', type: 'integer' }], points);
  const title = o.title ?? `${a.metric}${unit ? ` (${unit})` : ''}`;
  const base = { name: 'run-series', title, caption: `${a.metric} per ${a.by.length ? a.by.join(' × ') : 'run'} on t_rel (step ${a.step_s} s); rules: partition actions, run phases and events.`, table };
  if (points.length === 0) return { ...base, spec: null, empty: `no samples of ${a.metric} are tagged with ${[...new Set(a.series.map((s) => s.run))].join(', ') || 'this run'}` };
  const values = [...points.map((p) => ({ ...p, layer: 'point' })), ...marks.map((m) => ({ ...m, layer: 'mark' }))];
  const spec = {
    title,
    width: 720,
    height: 260,
    data: { values },
    layer: [
      {
        name: 'lines',
        transform: [{ filter: "datum.layer === 'point'" }],
        mark: { type: 'line', point: o.interactive ? { size: 18 } : false },
        encoding: {
          x: { field: 't_rel_s', type: 'quantitative', title: 't_rel (s since run start)' },
          y: { field: 'value', type: 'quantitative', title: unit ?? a.metric },
          color: { field: 'series', type: 'nominal', title: null },
          ...(o.interactive ? { tooltip: [{ field: 'series' }, { field: 't_rel_s', format: '.2f' }, { field: 'value', format: '.4~g' }, { field: 'n' }], opacity: { condition: { param: 'pick', value: 1 }, value: 0.15 } } : {}),
        },
        ...(o.interactive ? { params: [{ name: 'pick', select: { type: 'point', fields: ['series'] }, bind: 'legend' }] } : {}),
      },
      {
        name: 'timeline',
        transform: [{ filter: "datum.layer === 'mark'" }],
        mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
        encoding: { x: { field: 't_rel_s', type: 'quantitative' }, ...(o.interactive ? { tooltip: [{ field: 'event' }, { field: 'run' }, { field: 't_rel_s', format: '.2f' }] } : {}) },
      },
    ],
    config: BASE_CONFIG,
  };
  return { ...base, spec, empty: null };
}
