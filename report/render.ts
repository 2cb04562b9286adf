/**
 * Server-side rendering of the figures' Vega-Lite specs: compiled by vega-lite, rendered to SVG by
 * a headless vega View (no DOM, no canvas), and the SVG rasterised to PNG by resvg (Rust, no
 * browser). Fonts come from the system (DejaVu/Liberation on Debian).
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import type { VlSpec } from './specs/common.js';

/** SVG text of a spec. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const vg = compile(spec as never).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG of an SVG at `scale` × its size; returns the bytes and the pixel size. */
export function renderPng(svg: string, scale = 2): { png: Buffer; width: number; height: number } {
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height };
}

/** The width and height an SVG declares (vega writes both as plain numbers). */
export function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  if (!m) throw new Error('the SVG declares no width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}
