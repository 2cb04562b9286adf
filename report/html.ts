/**
 * The report as one self-contained HTML page: figures inline as SVG, tables, captions, warnings,
 * provenance; no script, no style sheet or font from elsewhere, and no network address anywhere
 * (the SVG namespace URIs, which HTML does not need for inline SVG, are dropped).
 */
import type { ReportData } from './gather.js';
import type { Figure } from './specs/common.js';
import { CELL_HEADER, cellRows, provenanceRows, RUN_HEADER, runRows, warnings } from './summary.js';

export const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** Inline SVG for HTML: without the XML namespace declarations (the only URLs vega writes). */
export function inlineSvg(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '').replace(/xlink:href=/g, 'href=');
}

const table = (header: string[], rows: string[][]) =>
  `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

const STYLE = `body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.warn{background:#fff4e5;border-left:4px solid #e45756;padding:.5em 1em}.empty{color:#a33;font-style:italic}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555;max-width:60em}.files{font-size:.8em}code{font-size:.9em}`;

export interface RenderedFigure {
  figure: Figure;
  svg: string | null;
  /** Relative paths of the files written for it. */
  files: string[];
}

export function reportHtml(d: ReportData, figures: RenderedFigure[]): string {
  const w = warnings(d);
  const c = d.comparison;
  const parts: string[] = [];
  parts.push(`<h1>${esc(d.experiment)}</h1>`);
  parts.push(`<p>Figure of merit: <b>${esc(c.figure ?? 'the run result')}</b>${c.unit ? ` in ${esc(c.unit)}` : ''} (${c.higher_is_better ? 'higher' : 'lower'} is better). Runs: ${c.runs.total} (${c.runs.end} finished, ${c.runs.fail} failed, ${c.runs.abort} aborted, ${c.runs.running} not ended). Version ${esc(c.spec_hash ?? 'not recorded')}.</p>`);
  if (w.length) parts.push(`<div class="warn">${w.map((x) => `<p>${esc(x)}</p>`).join('')}</div>`);
  parts.push('<h2>Cells</h2>', table(CELL_HEADER, cellRows(d)));
  for (const f of figures) {
    parts.push(`<h2 id="${f.figure.name}">${esc(f.figure.title)}</h2>`);
    if (f.svg) parts.push(`<figure>${inlineSvg(f.svg)}<figcaption>${esc(f.figure.caption)}</figcaption></figure>`);
    else parts.push(`<p class="empty">${esc(f.figure.empty ?? 'nothing to draw')}</p>`);
    parts.push(`<p class="files">Files: ${f.files.map((x) => `<a href="${esc(x)}">${esc(x)}</a>`).join(', ')}</p>`);
  }
  parts.push('<h2>Runs</h2>', table(RUN_HEADER, runRows(d)));
  parts.push('<h2>Provenance</h2>', table(['what', 'value'], provenanceRows(d)));
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(d.experiment)}: isoscope report</title><style>${STYLE}</style></head><body>${parts.join('\n')}</body></html>\n`;
}
