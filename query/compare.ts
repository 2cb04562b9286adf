/**
 * Isolation comparison: the finished runs of a configuration (experiment, workload, stack, node
 * count — a cell of the matrix), split by `background`: the slowdown of the figure of merit over
 * repetitions (the run's result, or a named figure of `config.figures` such as `hpl`), and the
 * per-scope metric deltas that explain it (compare-metrics.ts). `compareRuns` answers one
 * configuration; `compareExperiment` every cell of an experiment in one call (the report's input).
 */
import type { Store } from '../store/store.js';
import { metricDeltas } from './compare-metrics.js';
import { loadRuns, type Run } from './runs.js';
import { geometricMean, mean, slowdown, slowdownEstimate, welchInterval } from './stats.js';
import { knownFigureUnit, TIME_UNITS } from './units.js';

export interface CompareRequest {
  experiment: string;
  workload?: string | undefined;
  stack?: string | undefined;
  node_count?: number | undefined;
  /** A figure of `config.figures` (e.g. `hpl`) instead of the run's result. */
  figure?: string | undefined;
  /** Only runs of this experiment version (`config.spec_hash`). */
  spec_hash?: string | undefined;
  /** Whether a larger result is better; default from the unit (time units → lower is better). */
  higherIsBetter?: boolean | undefined;
  /** Metrics reported per scope, most moved first. */
  top: number;
  level: number;
}

export class CompareError extends Error {}

/** The figure of merit of a run: its result, or the named figure; null when it has none. */
export function figureOf(run: Run, figure: string | undefined): number | null {
  if (figure === undefined) return run.result;
  const figures = run.config.figures as Record<string, unknown> | undefined;
  const v = figures?.[figure];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The unit of the figure: the run's unit, or the recorded/known unit of the named figure. */
export function figureUnit(runs: Run[], figure: string | undefined): string | null {
  if (figure === undefined) return runs.find((r) => r.unit)?.unit ?? null;
  for (const r of runs) {
    const u = (r.config.figure_units as Record<string, unknown> | undefined)?.[figure];
    if (typeof u === 'string') return u;
  }
  return knownFigureUnit(figure);
}

/** Figures recorded in any of the runs, for messages. */
function availableFigures(runs: Run[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys((r.config.figures as object | undefined) ?? {})))].sort();
}

/** Runs whose figure of merit is usable: finished and holding the figure. */
function usable(runs: Run[], figure: string | undefined, experiment: string): Run[] {
  const done = runs.filter((r) => r.status === 'end');
  const withFigure = done.filter((r) => figureOf(r, figure) !== null);
  if (figure !== undefined && done.length > 0 && withFigure.length === 0) {
    const have = availableFigures(done);
    throw new CompareError(`no finished run of experiment ${experiment} has figure "${figure}" in config.figures${have.length ? `; they have ${have.join(', ')}` : ' (its runs record no figures)'}`);
  }
  return withFigure;
}

/** Keeps one experiment version: the one asked for, else the most recently started one. */
export function oneVersion(runs: Run[], specHash: string | undefined): { runs: Run[]; spec_hash: string | null; versions: string[] } {
  const hashOf = (r: Run) => (typeof r.config.spec_hash === 'string' ? r.config.spec_hash : null);
  const versions = [...new Set(runs.map(hashOf).filter((h): h is string => h !== null))];
  if (specHash !== undefined) return { runs: runs.filter((r) => hashOf(r) === specHash), spec_hash: specHash, versions };
  if (versions.length <= 1) return { runs, spec_hash: versions[0] ?? null, versions };
  const latest = [...runs].filter((r) => hashOf(r) !== null).sort((a, b) => (BigInt(b.start_ns ?? '0') > BigInt(a.start_ns ?? '0') ? 1 : -1))[0]!;
  const h = hashOf(latest)!;
  return { runs: runs.filter((r) => hashOf(r) === h), spec_hash: h, versions };
}

function higherBetter(unit: string | null, req: { higherIsBetter?: boolean | undefined }): boolean {
  return req.higherIsBetter ?? !(unit && TIME_UNITS.test(unit));
}

function side(runs: Run[], figure: string | undefined, level: number) {
  const results = runs.map((r) => figureOf(r, figure)!);
  return { runs: runs.map((r) => r.run), n: runs.length, mean: results.length ? mean(results) : null, geometric_mean: geometricMean(results, level), results };
}

/** The comparison of one cell from its usable runs (either side may be empty: then slowdown is null). */
async function compareCell(store: Store, baseline: Run[], interfered: Run[], figure: string | undefined, higher: boolean, req: { top: number; level: number }) {
  const a = baseline.map((r) => figureOf(r, figure)!);
  const b = interfered.map((r) => figureOf(r, figure)!);
  return {
    baseline: side(baseline, figure, req.level),
    interfered: side(interfered, figure, req.level),
    /** > 1: slower with background; ratio of geometric means, Welch interval on the log scale (null below 2 runs a side). */
    slowdown: slowdown(a, b, higher, req.level),
    /** The ratio alone, also for a single repetition. */
    slowdown_estimate: slowdownEstimate(a, b, higher),
    /** interfered − baseline in the result's unit, Welch interval. */
    difference: welchInterval(a, b, req.level),
    metrics: await metricDeltas(store, baseline, interfered, req.top),
  };
}

export async function compareRuns(store: Store, req: CompareRequest) {
  const loaded = await loadRuns(store, { experiment: req.experiment, workload: req.workload, stack: req.stack, node_count: req.node_count });
  const { runs: all, spec_hash } = oneVersion(loaded, req.spec_hash);
  const done = usable(all, req.figure, req.experiment);
  const configs = new Set(done.map((r) => `${r.workload} / ${r.stack} / ${r.node_count} nodes`));
  if (configs.size > 1) {
    throw new CompareError(`the runs of experiment ${req.experiment} span ${configs.size} configurations (${[...configs].join('; ')}): narrow with workload, stack and node_count, or use /api/compare/cells`);
  }
  const baseline = done.filter((r) => !r.background);
  const interfered = done.filter((r) => r.background);
  if (baseline.length === 0 || interfered.length === 0) {
    throw new CompareError(`need finished runs with and without background for experiment ${req.experiment}; found ${baseline.length} without and ${interfered.length} with`);
  }
  const unit = figureUnit(done, req.figure);
  const higher = higherBetter(unit, req);
  return {
    configuration: { experiment: req.experiment, workload: done[0]!.workload, stack: done[0]!.stack, node_count: done[0]!.node_count },
    figure: req.figure ?? null,
    spec_hash,
    unit,
    higher_is_better: higher,
    ...(await compareCell(store, baseline, interfered, req.figure, higher, req)),
  };
}

/** Why a cell has no slowdown, in words (for the report and the explorer). */
function cellNotes(base: Run[], bg: Run[], failed: Run[]): string[] {
  const notes: string[] = [];
  if (base.length === 0) notes.push('no finished run without background');
  if (bg.length === 0) notes.push('no finished run with background');
  if ((base.length === 1 || bg.length === 1) && base.length > 0 && bg.length > 0) notes.push('a single repetition on one side: no interval');
  for (const r of failed) notes.push(`run ${r.run} (${r.background ? 'with' : 'without'} background, repetition ${r.repetition}) ${r.status === 'running' ? 'has not ended' : r.status === 'fail' ? 'failed' : 'was aborted'}${r.message ? `: ${r.message}` : ''}`);
  return notes;
}

/**
 * Every cell (workload × stack × node count) of an experiment, with and without background, in
 * one answer: the input of `isoscope report` and the explorer's experiment page.
 */
export async function compareExperiment(store: Store, req: Omit<CompareRequest, 'workload' | 'stack' | 'node_count'>) {
  const loaded = await loadRuns(store, { experiment: req.experiment });
  if (loaded.length === 0) throw new CompareError(`experiment ${req.experiment} has no runs in the store`);
  const { runs: all, spec_hash, versions } = oneVersion(loaded, req.spec_hash);
  if (all.length === 0) throw new CompareError(`experiment ${req.experiment} has no runs of version ${req.spec_hash} (it has ${versions.join(', ')})`);
  const ok = usable(all, req.figure, req.experiment);
  const unit = figureUnit(ok.length ? ok : all, req.figure);
  const higher = higherBetter(unit, req);
  const cellKey = (r: Run) => `${r.workload}\0${r.stack}\0${r.node_count}`;
  const keys = [...new Set(all.map(cellKey))];
  const okSet = new Set(ok);
  const cells = [];
  for (const k of keys) {
    const runs = all.filter((r) => cellKey(r) === k);
    const good = runs.filter((r) => okSet.has(r));
    const base = good.filter((r) => !r.background);
    const bg = good.filter((r) => r.background);
    const notOk = runs.filter((r) => !okSet.has(r));
    const cell = await compareCell(store, base, bg, req.figure, higher, req);
    cells.push({ workload: runs[0]!.workload, stack: runs[0]!.stack, node_count: runs[0]!.node_count, ...cell, notes: cellNotes(base, bg, notOk) });
  }
  cells.sort((x, y) => x.workload.localeCompare(y.workload) || x.stack.localeCompare(y.stack) || x.node_count - y.node_count);
  const count = (s: Run['status']) => all.filter((r) => r.status === s).length;
  return {
    experiment: req.experiment,
    figure: req.figure ?? null,
    spec_hash,
    versions,
    unit,
    higher_is_better: higher,
    level: req.level,
    runs: { total: all.length, end: count('end'), fail: count('fail'), abort: count('abort'), running: count('running'), usable: ok.length },
    figures: availableFigures(all),
    cells,
  };
}

export type ExperimentComparison = Awaited<ReturnType<typeof compareExperiment>>;
export type CellComparison = ExperimentComparison['cells'][number];
