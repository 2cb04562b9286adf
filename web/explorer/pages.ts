/**
 * The explorer's pages: experiments → experiment (figures, cells, runs) → run (aligned series of
 * any metric per node/cpu/partition, with the event and partition timeline) → compare (a cell
 * alone vs with background, or two runs). Each says in words why it is empty when it is.
 */
import type { CellComparison, ExperimentComparison } from '../../query/compare.js';
import { fmt } from '../../report/specs/common.js';
import { movedFigure } from '../../report/specs/moved.js';
import { runSeriesFigure, type RunSeriesAnswer } from '../../report/specs/run-series.js';
import { scalingFigure } from '../../report/specs/scaling.js';
import { cellLabel, slowdownFigure } from '../../report/specs/slowdown.js';
import { api, ApiFailure, q } from './api.js';
import { drawFigure, el, table } from './chart.js';

interface RunRow {
  run: string; experiment: string; workload: string; stack: string; node_count: number; background: boolean; repetition: number;
  status: string; start: string | null; duration_s: number | null; result: number | null; unit: string | null; message: string | null;
}

const go = (hash: string) => { location.hash = hash; };
const link = (hash: string, text: string) => el('a', { href: hash }, text);
const interval = (i: { estimate: number; low: number | null; high: number | null } | null) => (i === null ? '–' : i.low === null || i.high === null ? fmt(i.estimate) : `${fmt(i.estimate)} [${fmt(i.low)}, ${fmt(i.high)}]`);

export async function experimentsPage(page: HTMLElement): Promise<void> {
  page.append(el('h1', {}, 'Experiments'));
  const { runs } = await api<{ runs: RunRow[] }>('/api/runs');
  if (runs.length === 0) {
    page.append(el('p', { class: 'empty' }, 'No runs yet: the store has no run records. Run an experiment (isoscope run examples/stream-interference.yaml) with this store, or point the explorer at the store that has them.'));
    return;
  }
  const byExp = new Map<string, RunRow[]>();
  for (const r of runs) byExp.set(r.experiment, [...(byExp.get(r.experiment) ?? []), r]);
  const names = [...byExp.keys()].sort();
  const count = (rs: RunRow[], s: string) => rs.filter((r) => r.status === s).length;
  page.append(table(['experiment', 'workload', 'stacks', 'runs', 'finished', 'failed', 'aborted', 'last start'], names.map((n) => {
    const rs = byExp.get(n)!;
    return [link(`#/experiment/${q(n)}`, n), [...new Set(rs.map((r) => r.workload))].join(', '), [...new Set(rs.map((r) => r.stack))].join(', '), String(rs.length), String(count(rs, 'end')), String(count(rs, 'fail')), String(count(rs, 'abort')), rs.map((r) => r.start ?? '').sort().at(-1) ?? ''];
  }), (i) => go(`#/experiment/${q(names[i]!)}`)));
}

export async function experimentPage(page: HTMLElement, experiment: string, figure: string | null): Promise<void> {
  page.append(el('h1', {}, experiment));
  let c: ExperimentComparison;
  try {
    c = await api<ExperimentComparison>(`/api/compare/cells?experiment=${q(experiment)}&top=10${figure ? `&figure=${q(figure)}` : ''}`, {}, `/api/compare/cells (${experiment})`);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 422) {
      page.append(el('p', { class: 'empty' }, err.message));
      return;
    }
    throw err;
  }
  const select = el('select', { id: 'figure-select' });
  select.append(el('option', { value: '' }, 'run result'));
  for (const f of c.figures) {
    const o = el('option', { value: f }, f);
    if (f === figure) o.selected = true;
    select.append(o);
  }
  select.onchange = () => go(`#/experiment/${q(experiment)}${select.value ? `?figure=${q(select.value)}` : ''}`);
  page.append(el('div', { class: 'controls' }, el('label', {}, 'figure of merit ', select), el('span', {}, `${c.runs.total} runs: ${c.runs.end} finished, ${c.runs.fail} failed, ${c.runs.abort} aborted, ${c.runs.running} not ended`)));
  if (c.runs.end === 0) page.append(el('p', { class: 'empty' }, `No run of ${experiment} finished (${c.runs.fail} failed, ${c.runs.abort} aborted, ${c.runs.running} not ended): there is no figure of merit to draw.`));
  await drawFigure(page, scalingFigure(c, { interactive: true }));
  await drawFigure(page, slowdownFigure(c, { interactive: true }));
  page.append(el('h2', {}, 'Cells'));
  page.append(table(['cell', 'alone', 'with background', 'slowdown', 'notes'], c.cells.map((cell) => [
    `${cell.workload} · ${cellLabel(cell.stack, cell.node_count)}`, `${interval(cell.baseline.geometric_mean)} (n=${cell.baseline.n})`, `${interval(cell.interfered.geometric_mean)} (n=${cell.interfered.n})`,
    cell.slowdown ? interval(cell.slowdown) : cell.slowdown_estimate !== null ? fmt(cell.slowdown_estimate) : '–', cell.notes.join('; '),
  ]), (i) => { const cell = c.cells[i]!; go(compareHash(experiment, cell, figure)); }));
  await drawFigure(page, movedFigure(c, { interactive: true }));
  const { runs } = await api<{ runs: RunRow[] }>(`/api/runs?experiment=${q(experiment)}`);
  page.append(el('h2', {}, 'Runs'));
  page.append(table(['run', 'stack', 'nodes', 'background', 'rep.', 'status', 'result', 'message'], runs.map((r) => [
    link(`#/run/${q(r.run)}`, r.run), r.stack, String(r.node_count), r.background ? 'yes' : 'no', String(r.repetition), r.status, r.result === null ? '–' : `${fmt(r.result)} ${r.unit ?? ''}`, r.message ?? '',
  ]), (i) => go(`#/run/${q(runs[i]!.run)}`)));
}

const compareHash = (experiment: string, cell: Pick<CellComparison, 'stack' | 'node_count' | 'workload'>, figure: string | null) =>
  `#/compare?experiment=${q(experiment)}&workload=${q(cell.workload)}&stack=${q(cell.stack)}&node_count=${cell.node_count}${figure ? `&figure=${q(figure)}` : ''}`;

interface RunDetail extends RunRow { nodes: string[]; partitions: { ts: string; partition: string; node: string; driver: string; action: string; cpus: string }[]; provenance: Record<string, unknown> }

export async function runPage(page: HTMLElement, run: string, params: URLSearchParams): Promise<void> {
  const r = await api<RunDetail>(`/api/runs/${q(run)}`);
  page.append(el('h1', {}, `Run ${run}`));
  page.append(el('p', {}, link(`#/experiment/${q(r.experiment)}`, r.experiment), ` · ${r.workload} on ${r.stack}, ${r.node_count} node(s) (${r.nodes.join(', ')}), ${r.background ? 'with' : 'without'} background, repetition ${r.repetition} · ${r.status}${r.result !== null ? ` · result ${fmt(r.result)} ${r.unit ?? ''}` : ''}${r.message ? ` · ${r.message}` : ''}`));
  const metrics = await api<{ text: string; value: string }[]>(`/api/grafana/variables/metrics?run=${q(run)}`);
  if (metrics.length === 0) {
    page.append(el('p', { class: 'empty' }, `No samples are tagged with run ${run}: no collector ran on its nodes (${r.nodes.join(', ')}) during the run, or the collector's node name differs from the experiment's node names.`));
  } else {
    const metric = params.get('metric') ?? (metrics.find((m) => m.value === 'context-switches') ?? metrics[0]!).value;
    const by = params.get('by') ?? 'partition';
    const mSel = el('select', { id: 'metric-select' });
    for (const m of metrics) { const o = el('option', { value: m.value }, m.text); if (m.value === metric) o.selected = true; mSel.append(o); }
    const bSel = el('select', { id: 'by-select' });
    for (const b of ['partition', 'node', 'cpu', 'node,partition', '']) { const o = el('option', { value: b }, b || 'aggregated'); if (b === by) o.selected = true; bSel.append(o); }
    const update = () => go(`#/run/${q(run)}?metric=${q(mSel.value)}&by=${q(bSel.value)}`);
    mSel.onchange = update;
    bSel.onchange = update;
    page.append(el('div', { class: 'controls' }, el('label', {}, 'metric ', mSel), el('label', {}, 'per ', bSel)));
    const answer = await api<RunSeriesAnswer>(`/api/series?run=${q(run)}&metric=${q(metric)}${by ? `&by=${q(by)}` : ''}&points=120`, {}, `/api/series (${metric})`);
    await drawFigure(page, runSeriesFigure(answer, null, { interactive: true }));
  }
  page.append(el('h2', {}, 'Partitions'));
  page.append(r.partitions.length ? table(['time', 'partition', 'node', 'driver', 'action', 'cpus'], r.partitions.map((p) => [p.ts, p.partition, p.node, p.driver, p.action, p.cpus ?? ''])) : el('p', { class: 'empty' }, 'This run recorded no partition actions.'));
  page.append(el('h2', {}, 'Provenance'), el('pre', {}, JSON.stringify(r.provenance, null, 2)));
}

export async function comparePage(page: HTMLElement, params: URLSearchParams): Promise<void> {
  const experiment = params.get('experiment');
  const runsParam = params.get('runs');
  page.append(el('h1', {}, 'Compare'));
  if (runsParam) return compareRuns(page, runsParam.split(',').filter(Boolean), params.get('metric'));
  if (!experiment) {
    page.append(el('p', { class: 'empty' }, 'Pick an experiment first, then a cell on its page (or open #/compare?runs=RUN_A,RUN_B to compare two runs).'));
    return;
  }
  const figure = params.get('figure');
  const qs = ['workload', 'stack', 'node_count'].filter((k) => params.get(k)).map((k) => `&${k}=${q(params.get(k)!)}`).join('');
  let c: CellComparison & { configuration: { workload: string; stack: string; node_count: number }; unit: string | null; figure: string | null; higher_is_better: boolean };
  try {
    c = await api(`/api/compare?experiment=${q(experiment)}${qs}${figure ? `&figure=${q(figure)}` : ''}&top=10`, {}, '/api/compare');
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 422) { page.append(el('p', { class: 'empty' }, err.message)); return; }
    throw err;
  }
  const label = `${c.configuration.workload} · ${cellLabel(c.configuration.stack, c.configuration.node_count)}`;
  page.append(el('p', {}, link(`#/experiment/${q(experiment)}`, experiment), ` · ${label} · ${c.figure ?? 'run result'}${c.unit ? ` (${c.unit})` : ''}, ${c.higher_is_better ? 'higher' : 'lower'} is better`));
  const s = c.slowdown;
  page.append(el('p', { class: 'big', id: 'slowdown' }, `Slowdown with background: ${s ? `${fmt(s.estimate)}× [${fmt(s.low)}, ${fmt(s.high)}] (${Math.round(s.level * 100)} %)` : c.slowdown_estimate !== null ? `${fmt(c.slowdown_estimate)}× (no interval: fewer than two runs a side)` : 'none'}`));
  page.append(table(['', 'runs', 'geometric mean', 'results'], [
    ['alone', String(c.baseline.n), interval(c.baseline.geometric_mean), c.baseline.results.map((x) => fmt(x)).join(', ')],
    ['with background', String(c.interfered.n), interval(c.interfered.geometric_mean), c.interfered.results.map((x) => fmt(x)).join(', ')],
  ]));
  const asExperiment = { experiment, figure: c.figure, unit: c.unit, level: 0.95, cells: [{ ...c, workload: c.configuration.workload, stack: c.configuration.stack, node_count: c.configuration.node_count, notes: [] }] } as unknown as ExperimentComparison;
  await drawFigure(page, movedFigure(asExperiment, { interactive: true, perScope: 10 }));
  page.append(el('h2', {}, 'Metric deltas'));
  page.append(c.metrics.length ? table(['scope', 'metric', 'unit', 'alone', 'with background', 'change', "Hedges' g"], c.metrics.map((m) => [
    m.scope === 'node' ? 'node-wide' : `${m.scope}${m.partition ? ` (${m.partition})` : ''}`, m.metric, m.unit ?? '', fmt(m.baseline_mean), fmt(m.interfered_mean), m.relative_delta === null ? '–' : `${(m.relative_delta * 100).toFixed(1)} %`, fmt(m.hedges_g),
  ])) : el('p', { class: 'empty' }, 'No samples are tagged with these runs, so there are no counters to compare.'));
  const pick = [c.baseline.runs[0], c.interfered.runs[0]].filter(Boolean) as string[];
  if (pick.length === 2) page.append(el('p', {}, link(`#/compare?runs=${pick.map(q).join(',')}`, `compare two runs: ${pick.join(' vs ')}`)));
}

async function compareRuns(page: HTMLElement, runs: string[], metricParam: string | null): Promise<void> {
  if (runs.length !== 2) { page.append(el('p', { class: 'empty' }, `Two runs are compared; got ${runs.length}.`)); return; }
  const [a, b] = await Promise.all(runs.map((r) => api<RunDetail>(`/api/runs/${q(r)}`)));
  const ratio = a!.result !== null && b!.result !== null && b!.result !== 0 ? a!.result / b!.result : null;
  page.append(table(['run', 'background', 'status', 'result'], [a!, b!].map((r) => [link(`#/run/${q(r.run)}`, r.run), r.background ? 'yes' : 'no', r.status, r.result === null ? '–' : `${fmt(r.result)} ${r.unit ?? ''}`])));
  page.append(el('p', { class: 'big', id: 'slowdown' }, ratio === null ? 'No ratio: a run has no result.' : `Result ratio ${a!.run} / ${b!.run}: ${fmt(ratio)}`));
  const metrics = await api<{ value: string }[]>(`/api/grafana/variables/metrics?run=${runs.map(q).join(',')}`);
  if (metrics.length === 0) { page.append(el('p', { class: 'empty' }, 'No samples are tagged with these runs.')); return; }
  const metric = metricParam ?? (metrics.find((m) => m.value === 'context-switches') ?? metrics[0]!).value;
  const answer = await api<RunSeriesAnswer>(`/api/series?run=${runs.map(q).join(',')}&metric=${q(metric)}&points=120`, {}, `/api/series (${metric})`);
  await drawFigure(page, runSeriesFigure(answer, null, { interactive: true }));
}
