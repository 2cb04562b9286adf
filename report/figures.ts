/** The report's figures from its data, in order; the names are the `--figure` choices. */
import type { ReportData } from './gather.js';
import type { Figure, SpecOptions } from './specs/common.js';
import { movedFigure } from './specs/moved.js';
import { scalingFigure } from './specs/scaling.js';
import { seriesFigure } from './specs/series.js';
import { slowdownFigure } from './specs/slowdown.js';

export const FIGURES = ['scaling', 'slowdown', 'moved', 'series'] as const;
export type FigureName = (typeof FIGURES)[number];

export function reportFigures(d: ReportData, only: FigureName | undefined, o: SpecOptions = {}): Figure[] {
  const build: Record<FigureName, () => Figure> = {
    scaling: () => scalingFigure(d.comparison, o),
    slowdown: () => slowdownFigure(d.comparison, o),
    moved: () => movedFigure(d.comparison, o),
    series: () => seriesFigure(d.series.cell ?? 'no cell', d.series.panels, { ...o, ...(d.series.why ? { why: d.series.why } : {}) }),
  };
  return (only ? [only] : FIGURES).map((name) => build[name]());
}
