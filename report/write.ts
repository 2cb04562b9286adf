/**
 * Writes a report directory: per figure its SVG, PNG (2× the SVG's size), Vega-Lite spec, and the
 * data behind it as CSV and Parquet (figures/); the runs as CSV; and the documents asked for
 * (index.html, report.md, report.json). A figure with nothing to draw still gets its (empty)
 * table and the documents say why.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toCsv } from '../query/formats/csv.js';
import { toParquet } from '../query/formats/parquet.js';
import { toJson } from '../query/json.js';
import { reportFigures, type FigureName } from './figures.js';
import type { ReportData } from './gather.js';
import { reportHtml, type RenderedFigure } from './html.js';
import { reportMarkdown } from './markdown.js';
import { renderPng, renderSvg } from './render.js';
import type { FigureTable } from './specs/common.js';

export const FORMATS = ['html', 'md', 'json'] as const;
export type ReportFormat = (typeof FORMATS)[number];

/** PNG pixels per SVG unit. */
export const PNG_SCALE = 2;

export interface WriteOptions {
  out: string;
  formats: ReportFormat[];
  figure?: FigureName | undefined;
}

const asResult = (t: FigureTable) => ({ columns: t.columns.map((c) => ({ name: c.name, type: c.type })), rows: t.rows });

/** Writes everything; returns the files written, relative to `out`. */
export async function writeReport(d: ReportData, o: WriteOptions): Promise<string[]> {
  await mkdir(join(o.out, 'figures'), { recursive: true });
  const written: string[] = [];
  const put = async (rel: string, data: string | Buffer) => {
    await writeFile(join(o.out, rel), data);
    written.push(rel);
  };
  const rendered: RenderedFigure[] = [];
  for (const figure of reportFigures(d, o.figure)) {
    const files: string[] = [];
    const stem = `figures/${figure.name}`;
    let svg: string | null = null;
    if (figure.spec) {
      svg = await renderSvg(figure.spec);
      await put(`${stem}.svg`, svg);
      await put(`${stem}.png`, renderPng(svg, PNG_SCALE).png);
      await put(`${stem}.vl.json`, JSON.stringify(figure.spec, null, 2));
      files.push(`${stem}.svg`, `${stem}.png`, `${stem}.vl.json`);
    }
    await put(`${stem}.csv`, toCsv(asResult(figure.table)));
    await put(`${stem}.parquet`, await toParquet(asResult(figure.table)));
    files.push(`${stem}.csv`, `${stem}.parquet`);
    rendered.push({ figure, svg, files });
  }
  const runs = {
    columns: ['run', 'stack', 'node_count', 'background', 'repetition', 'status', 'result', 'unit', 'samples', 'start', 'end', 'message'].map((name) => ({ name, type: 'text' })),
    rows: d.runs.map((r) => [r.run, r.stack, r.node_count, r.background, r.repetition, r.status, r.result, r.unit, r.samples, r.start, r.end, r.message]),
  };
  await put('runs.csv', toCsv(runs));
  if (o.formats.includes('html')) await put('index.html', reportHtml(d, rendered));
  if (o.formats.includes('md')) await put('report.md', reportMarkdown(d, rendered));
  if (o.formats.includes('json')) await put('report.json', toJson({ ...d, figures: rendered.map((f) => ({ ...f.figure, files: f.files })) }));
  return written;
}
