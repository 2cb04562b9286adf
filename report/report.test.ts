/**
 * `writeReport` on the seeded experiment of the query tests (3 runs alone, 3 with background,
 * 2 nodes, samples per CPU and node-wide) in a real DuckDB, read through the query API in-process:
 * every file exists, SVG marks match the data, PNGs decode to 2× the SVG size, the HTML names no
 * network address, and the CSVs hold the numbers of /api/compare/cells.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryApp } from '../query/app.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { tempDirs } from '../test/temp-dirs.js';
import { buildSeed, writeSeed } from '../query/testdata/seed.js';
import { gather } from './gather.js';
import { decodePng } from './png.js';
import { appSource } from './source.js';
import { writeReport, PNG_SCALE } from './write.js';
import { checkHtmlOffline, countMarks, readCsv } from './testing.js';
import { svgSize } from './render.js';

const S = 1_000_000_000n;

describe('report of a seeded experiment', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  const seed = buildSeed('rep', 1_790_000_000n * S);
  const app = createQueryApp({ store });
  const tempDir = tempDirs('isoscope-report-');
  let out: string;
  let files: string[];

  beforeAll(async () => {
    await store.start();
    await writeSeed(store, seed);
    out = tempDir();
    const data = await gather(appSource(app, 'test'), { experiment: seed.experiment, figure: 'hpl', version: 'test' });
    files = await writeReport(data, { out, formats: ['html', 'md', 'json'] });
  }, 60_000);
  afterAll(() => store.shutdown());

  it('writes every file', () => {
    for (const f of ['scaling', 'slowdown', 'moved', 'series']) {
      for (const ext of ['svg', 'png', 'vl.json', 'csv', 'parquet']) expect(files).toContain(`figures/${f}.${ext}`);
    }
    expect(files).toEqual(expect.arrayContaining(['index.html', 'report.md', 'report.json', 'runs.csv']));
  });

  it('draws the expected marks and PNGs of 2× the SVG size', async () => {
    const scaling = await readFile(join(out, 'figures/scaling.svg'), 'utf8');
    // One node count: a bar per condition of the one stack, each with an error bar.
    expect(countMarks(scaling, 'bars_marks')).toBe(2);
    expect(countMarks(scaling, 'errors_marks')).toBe(2);
    expect(countMarks(await readFile(join(out, 'figures/slowdown.svg'), 'utf8'), 'points_marks')).toBe(1);
    for (const f of ['scaling', 'slowdown', 'moved', 'series']) {
      const svg = await readFile(join(out, `figures/${f}.svg`), 'utf8');
      const png = decodePng(await readFile(join(out, `figures/${f}.png`)));
      const size = svgSize(svg);
      expect([png.width, png.height]).toEqual([Math.round(size.width * PNG_SCALE), Math.round(size.height * PNG_SCALE)]);
    }
  });

  it('is self-contained: no network address in the HTML', async () => {
    const html = await readFile(join(out, 'index.html'), 'utf8');
    expect(checkHtmlOffline(html)).toEqual([]);
    expect(html).toContain('<svg');
  });

  it('writes the numbers of /api/compare/cells into the CSVs', async () => {
    const cells = (await (await app.request(`/api/compare/cells?experiment=${seed.experiment}&figure=hpl`)).json()) as { cells: { baseline: { geometric_mean: { estimate: number; low: number; high: number } }; interfered: { geometric_mean: { estimate: number } }; slowdown: { estimate: number; low: number; high: number } }[] };
    const scaling = readCsv(await readFile(join(out, 'figures/scaling.csv'), 'utf8'));
    const alone = scaling.find((r) => r.condition === 'alone')!;
    expect(Number(alone.value)).toBeCloseTo(cells.cells[0]!.baseline.geometric_mean.estimate, 12);
    expect(Number(alone.low)).toBeCloseTo(cells.cells[0]!.baseline.geometric_mean.low, 12);
    expect(Number(scaling.find((r) => r.condition === 'with background')!.value)).toBeCloseTo(cells.cells[0]!.interfered.geometric_mean.estimate, 12);
    const slowdown = readCsv(await readFile(join(out, 'figures/slowdown.csv'), 'utf8'));
    // Equal up to the order of summation (the store returns the runs in any order).
    expect(Number(slowdown[0]!.slowdown)).toBeCloseTo(cells.cells[0]!.slowdown.estimate, 12);
    expect(Number(slowdown[0]!.low)).toBeCloseTo(cells.cells[0]!.slowdown.low, 12);
    expect(Number(slowdown[0]!.high)).toBeCloseTo(cells.cells[0]!.slowdown.high, 12);
  });
});
