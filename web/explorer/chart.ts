/**
 * Draws a figure's Vega-Lite spec with the vega and vega-lite browser builds the page loads (the
 * same packages the report renders with on the server): SVG renderer, hover tooltips, legends that
 * toggle series where the spec binds them.
 */
import type { Figure, VlSpec } from '../../report/specs/common.js';

interface VegaView {
  runAsync(): Promise<unknown>;
  finalize(): void;
}
declare const vega: { View: new (runtime: unknown, options: Record<string, unknown>) => VegaView; parse(spec: unknown): unknown };
declare const vegaLite: { compile(spec: VlSpec): { spec: unknown } };

const views = new Set<VegaView>();

/** Removes every chart of the previous page. */
export function clearCharts(): void {
  for (const v of views) v.finalize();
  views.clear();
}

export async function drawSpec(container: HTMLElement, spec: VlSpec): Promise<void> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container, hover: true });
  views.add(view);
  await view.runAsync();
}

/** A figure with its title and caption, or the sentence saying why there is nothing to draw. */
export async function drawFigure(parent: HTMLElement, f: Figure): Promise<HTMLElement> {
  const box = el('section', { class: 'figure', 'data-figure': f.name });
  box.append(el('h2', {}, f.title));
  parent.append(box);
  if (!f.spec) {
    box.append(el('p', { class: 'empty' }, f.empty ?? 'nothing to draw'));
    return box;
  }
  const holder = el('div', { class: 'chart' });
  box.append(holder, el('p', { class: 'caption' }, f.caption));
  await drawSpec(holder, f.spec);
  return box;
}

/** A small element builder. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (string | Node)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function table(header: string[], rows: (string | Node)[][], onRow?: (i: number) => void): HTMLTableElement {
  const t = el('table');
  const head = el('tr');
  for (const h of header) head.append(el('th', {}, h));
  t.append(el('thead', {}, head));
  const body = el('tbody');
  rows.forEach((r, i) => {
    const tr = el('tr', onRow ? { class: 'link' } : {});
    for (const c of r) tr.append(el('td', {}, c));
    if (onRow) tr.onclick = () => onRow(i);
    body.append(tr);
  });
  t.append(body);
  return t;
}
