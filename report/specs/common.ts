/**
 * What every figure is: a Vega-Lite spec with its data inline, the table behind it (columns and
 * rows, written as CSV and Parquet by the report, shown by the explorer), a title and a caption.
 * The spec builders are pure and import nothing at run time, so the explorer loads the very same
 * modules in the browser (served from dist/report/specs/) that the report renders on the server.
 */

/** A Vega-Lite specification (kept as plain JSON: the builders only emit documented properties). */
export type VlSpec = Record<string, unknown>;

export interface FigureTable {
  columns: { name: string; type: 'text' | 'double' | 'integer' | 'boolean' }[];
  rows: unknown[][];
}

export interface Figure {
  /** File-name stem: scaling, slowdown, moved, series. */
  name: string;
  title: string;
  caption: string;
  /** null when there is nothing to draw; `empty` says why. */
  spec: VlSpec | null;
  empty: string | null;
  table: FigureTable;
}

export interface SpecOptions {
  /** Explorer: legends toggle series, tooltips on hover. The report draws the same without. */
  interactive?: boolean;
}

/** Colours of the two conditions, the same in every figure. */
export const CONDITION_COLORS = { alone: '#4c78a8', 'with background': '#e45756' } as const;
export const CONDITIONS = ['alone', 'with background'] as const;

/** Rows of objects → a table with the given columns (missing values are null). */
export function tableOf(columns: FigureTable['columns'], objects: Record<string, unknown>[]): FigureTable {
  return { columns, rows: objects.map((o) => columns.map((c) => (o[c.name] === undefined ? null : o[c.name]))) };
}

/** Rounds for display in captions and labels: 4 significant digits. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}

export const BASE_CONFIG = {
  font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};
