/**
 * The explorer in a real browser and `isoscope report` on data from real experiment runs.
 *
 * A real run of examples/stream-interference.yaml in the embedded default (2 repetitions alone and
 * with stress-ng noise, hpcc in cpusets, measured by the collector the orchestrator starts) is
 * served by a real `isoscope query`; Debian's chromium, driven by playwright-core, opens every
 * explorer page (screenshots in the folder printed below), and the report of the same data is
 * checked file by file against /api/compare. A second experiment without measurement (one
 * repetition; the workload fails when it runs a second time) must give a report that says so.
 * Needs root (cpusets), hpcc, stress-ng, mpirun and /usr/bin/chromium.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { decodePng } from '../report/png.js';
import { svgSize } from '../report/render.js';
import { checkHtmlOffline, countMarks, readCsv } from '../report/testing.js';
import { PNG_SCALE } from '../report/write.js';
import { tempDirs } from '../test/temp-dirs.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'isoscope.js');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results', 'explorer');
const TOKEN = 'explorer-test-token-0123456789';

const missing = [
  process.getuid?.() !== 0 ? 'root (cpuset cgroups)' : null,
  ...['hpcc', 'stress-ng', 'mpirun'].map((t) => (['/usr/bin', '/usr/local/bin', '/bin'].some((d) => existsSync(join(d, t))) ? null : t)),
  existsSync(CHROMIUM) ? null : CHROMIUM,
].filter((x): x is string => x !== null);
if (missing.length) process.stderr.write(`web/explorer.e2e.test.ts skipped: needs ${missing.join(', ')} (scripts/prerequisites.sh installs them)\n`);

const tempDir = tempDirs('isoscope-explorer-');
const tag = Date.now().toString(36);

function config(dir: string): void {
  writeFileSync(join(dir, 'isoscope.yaml'), YAML.stringify({ log: { level: 'warn' }, query: { token: TOKEN } }));
}

/** The shipped example, smaller: 2 repetitions, no cooldown, a name of its own. */
function exampleExperiment(dir: string, name: string): string {
  const spec = YAML.parse(readFileSync(join(ROOT, 'examples', 'stream-interference.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  spec.experiment = name as never;
  spec.matrix = { ...spec.matrix, repetitions: 2, cooldownSeconds: 0, warmupSeconds: 1 };
  // Partition names of their own: the cpuset path is isoscope/<node>-<partition>, shared by everything on this machine.
  const [app, noise] = [`a${tag}`, `n${tag}`];
  const stacks = spec.stacks as unknown as { partitions: { name: string }[] }[];
  stacks[0]!.partitions[0]!.name = app;
  stacks[0]!.partitions[1]!.name = noise;
  (spec.workload as { partition: string }).partition = app;
  (spec.background as unknown as { partition: string }[])[0]!.partition = noise;
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, YAML.stringify(spec));
  return file;
}

/** One repetition; the workload succeeds the first time and fails every time after (a marker file). */
function flakyExperiment(dir: string, name: string): string {
  mkdirSync(join(dir, 'catalog'));
  writeFileSync(join(dir, 'catalog', 'flaky.yaml'), YAML.stringify({
    name: 'flaky', version: 1, description: 'Prints value=2.5 once, then fails.',
    parameters: { marker: { type: 'string' } },
    command: ['sh', '-c', 'if [ -e "$1" ]; then echo "flaky: already ran" >&2; exit 3; fi; : > "$1"; echo "value=2.5"', 'flaky', '{{marker}}'],
    result: { parser: 'regex', regex: '^value=([\\d.]+)$', unit: 'ops/s' },
  }));
  const spec = {
    experiment: name, description: 'one repetition, the second run fails', catalog: ['catalog'],
    nodes: [{ name: 'local', transport: 'local' }],
    stacks: [{ name: 'linux', partitions: [{ name: `ea${tag}`, driver: 'linux-cpuset', cpus: '0', numa: '0' }, { name: `en${tag}`, driver: 'linux-cpuset', cpus: '0', numa: '0' }] }],
    workload: { entry: 'flaky', partition: `ea${tag}`, parameters: { marker: join(dir, 'ran-once') } },
    background: [{ entry: 'stress-ng', partition: `en${tag}`, parameters: { stressor: 'cpu', workers: 1 } }],
    matrix: { nodeCounts: [1], background: [false, true], repetitions: 1, timeoutSeconds: 60, cooldownSeconds: 0, warmupSeconds: 1 },
    measure: { enabled: false },
  };
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, YAML.stringify(spec));
  return file;
}

async function startQuery(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'query', '--store', 'duckdb', '--listen', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`isoscope query printed no URL in 60 s:\n${out}`)), 60_000);
    const look = (d: Buffer) => {
      out += d.toString();
      const m = /query service on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`isoscope query exited (${code}):\n${out}`)); });
  });
  return { child, url };
}

async function isoscope(dir: string, args: string[], timeout = 300_000) {
  return exec(process.execPath, [BIN, ...args], { cwd: dir, timeout, maxBuffer: 32 << 20 }).catch((err: { code?: number; stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '', code: err.code }));
}

describe.skipIf(missing.length > 0)('explorer and report on a real experiment run', () => {
  const main = `explorer-${tag}`;
  const edge = `edge-${tag}`;
  let dir: string;
  let edgeDir: string;
  let up: { child: ChildProcess; url: string } | undefined;
  let browser: Browser;

  beforeAll(async () => {
    dir = tempDir();
    edgeDir = tempDir();
    config(dir);
    config(edgeDir);
    const [r1, r2] = await Promise.all([
      isoscope(dir, ['run', exampleExperiment(dir, main), '--progress', 'lines']),
      isoscope(edgeDir, ['run', flakyExperiment(edgeDir, edge), '--progress', 'lines']),
    ]);
    process.stderr.write(`explorer e2e: run ${main}:\n${r1.stdout.slice(-1500)}${r1.stderr.slice(-500)}\nrun ${edge}: ${r2.stderr.slice(-300)}\n`);
    up = await startQuery(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    mkdirSync(SHOTS, { recursive: true });
    process.stderr.write(`explorer e2e: screenshots in ${SHOTS}\n`);
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    const child = up?.child;
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);

  const apiGet = async <T>(path: string) => (await (await fetch(`${up!.url}${path}`)).json()) as T;

  /** Opens a page, waits until it is complete, fails on console errors and on any request off this origin. */
  async function open(hash: string, shot: string, expectNotFound = false, base = up!.url): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    // Chromium logs every HTTP error answer of a fetch; a page asked for what does not exist gets one 404.
    page.on('console', (m) => { if (m.type() === 'error' && !(expectNotFound && /status of 404/.test(m.text()))) problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith(base)) problems.push(`request off the origin: ${r.url()}`); });
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#page .view[data-ready]', { timeout: 60_000 });
    await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
    expect(problems, `${hash}: ${problems.join('; ')}`).toEqual([]);
    expect(await page.locator('#page .error').count()).toBe(expectNotFound ? 1 : 0);
    return page;
  }

  it('runs the experiment with samples tagged by run', async () => {
    const statuses = (await apiGet<{ runs: { status: string; message: string | null }[] }>(`/api/runs?experiment=${main}`)).runs.map((r) => `${r.status}${r.message ? `: ${r.message}` : ''}`);
    expect(statuses).toEqual(['end', 'end', 'end', 'end']);
    const counts = await (await fetch(`${up!.url}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: `SELECT count(*) FROM samples WHERE run LIKE '${main}%'` }) })).json() as { rows: [number][] };
    expect(Number(counts.rows[0]![0])).toBeGreaterThan(0);
  });

  it('explorer: experiments → experiment with the scaling figure → run series → compare with the slowdown', async () => {
    const home = await open('#/', '1-experiments');
    await home.click(`text=${main}`);
    await home.waitForSelector('#page .view[data-page=experiment][data-ready]', { timeout: 60_000 });
    await home.close();

    const exp = await open(`#/experiment/${main}?figure=hpl`, '2-experiment');
    const scaling = exp.locator('section[data-figure=scaling] svg');
    // One node count: a bar per condition of the one stack, with its error bar, and both conditions in the legend.
    expect(await scaling.locator('g.bars_marks > path').count()).toBe(2);
    expect(await scaling.locator('g.errors_marks > line').count()).toBe(2);
    expect(await scaling.locator('g.role-legend text').allTextContents()).toEqual(expect.arrayContaining(['alone', 'with background']));
    expect(await exp.locator('section[data-figure=slowdown] g.points_marks > path').count()).toBe(1);
    // The legend toggles a condition: clicking "alone" fades the other condition's bar.
    await scaling.locator('g.role-legend-label text', { hasText: /^alone$/ }).click();
    await expect.poll(() => scaling.locator('g.bars_marks > path[opacity="0.25"]').count(), { timeout: 10_000 }).toBe(1);
    await exp.screenshot({ path: join(SHOTS, '2b-experiment-legend-toggled.png'), fullPage: true });
    // Clicking a run opens its series.
    await exp.locator('a', { hasText: `${main}.linux.n1.bg.r1` }).click();
    await exp.waitForSelector('#page .view[data-page=run][data-ready]', { timeout: 60_000 });
    expect(await exp.locator('section[data-figure=run-series] g.lines_marks > path').count()).toBeGreaterThan(0);
    await exp.screenshot({ path: join(SHOTS, '3-run.png'), fullPage: true });
    await exp.close();

    const cmp = await open(`#/compare?experiment=${main}&figure=hpl`, '4-compare');
    const compare = await apiGet<{ slowdown: { estimate: number } }>(`/api/compare?experiment=${main}&figure=hpl`);
    const text = await cmp.locator('#slowdown').textContent();
    expect(text).toMatch(/^Slowdown with background: [\d.]+× \[/);
    expect(Number(/: ([\d.]+)×/.exec(text!)![1])).toBeCloseTo(compare.slowdown.estimate, 2);
    await cmp.close();

    const empty = await open(`#/run/no-such-run-${tag}`, '5-unknown-run', true);
    expect(await empty.locator('#page .view').textContent()).toMatch(/no run "no-such-run-/);
    await empty.close();
  }, 180_000);

  it('explorer: empty pages say why (no runs yet; a run without samples)', async () => {
    const emptyDir = tempDir();
    config(emptyDir);
    const servers = [await startQuery(emptyDir), await startQuery(edgeDir)];
    try {
      const none = await open('#/', '6-no-runs', false, servers[0]!.url);
      expect(await none.locator('#page .empty').textContent()).toMatch(/^No runs yet/);
      await none.close();
      const { runs } = (await (await fetch(`${servers[1]!.url}/api/runs?experiment=${edge}`)).json()) as { runs: { run: string; status: string }[] };
      const ended = runs.find((r) => r.status === 'end')!;
      const bare = await open(`#/run/${ended.run}`, '7-run-without-samples', false, servers[1]!.url);
      expect(await bare.locator('#page .empty').first().textContent()).toMatch(/^No samples are tagged with run /);
      await bare.close();
      const failed = await open(`#/experiment/${edge}`, '8-experiment-with-a-failed-run', false, servers[1]!.url);
      expect(await failed.locator('section[data-figure=slowdown] .empty').textContent()).toMatch(/no cell has finished runs both alone and with background/);
      await failed.close();
    } finally {
      for (const s of servers) {
        s.child.kill('SIGINT');
        await new Promise((r) => (s.child.exitCode === null ? s.child.once('exit', r) : r(null)));
      }
    }
  }, 120_000);

  it('report of the same data: every file, marks, PNG sizes, offline HTML, CSVs equal to /api/compare', async () => {
    const out = join(tempDir(), 'report');
    const r = await isoscope(dir, ['report', main, '--figure', 'hpl', '--out', out, '--url', up!.url]);
    expect(r.stdout).toContain(`report of ${main}`);
    for (const f of ['scaling', 'slowdown', 'moved', 'series']) for (const ext of ['svg', 'png', 'vl.json', 'csv', 'parquet']) expect(existsSync(join(out, 'figures', `${f}.${ext}`)), `${f}.${ext}`).toBe(true);
    for (const f of ['index.html', 'report.md', 'report.json', 'runs.csv']) expect(existsSync(join(out, f)), f).toBe(true);
    const scalingSvg = readFileSync(join(out, 'figures/scaling.svg'), 'utf8');
    expect(countMarks(scalingSvg, 'bars_marks')).toBe(2);
    expect(countMarks(scalingSvg, 'errors_marks')).toBe(2);
    expect(countMarks(readFileSync(join(out, 'figures/slowdown.svg'), 'utf8'), 'points_marks')).toBe(1);
    expect(countMarks(readFileSync(join(out, 'figures/series.svg'), 'utf8'), 'lines_marks')).toBeGreaterThan(0);
    for (const f of ['scaling', 'slowdown', 'moved', 'series']) {
      const size = svgSize(readFileSync(join(out, 'figures', `${f}.svg`), 'utf8'));
      const png = decodePng(readFileSync(join(out, 'figures', `${f}.png`)));
      expect([png.width, png.height]).toEqual([Math.round(size.width * PNG_SCALE), Math.round(size.height * PNG_SCALE)]);
    }
    expect(checkHtmlOffline(readFileSync(join(out, 'index.html'), 'utf8'))).toEqual([]);
    const compare = await apiGet<{ slowdown: { estimate: number; low: number; high: number }; baseline: { geometric_mean: { estimate: number; low: number; high: number } } }>(`/api/compare?experiment=${main}&figure=hpl`);
    const slowdown = readCsv(readFileSync(join(out, 'figures/slowdown.csv'), 'utf8'))[0]!;
    expect(Number(slowdown.slowdown)).toBeCloseTo(compare.slowdown.estimate, 10);
    expect(Number(slowdown.low)).toBeCloseTo(compare.slowdown.low, 10);
    expect(Number(slowdown.high)).toBeCloseTo(compare.slowdown.high, 10);
    const alone = readCsv(readFileSync(join(out, 'figures/scaling.csv'), 'utf8')).find((x) => x.condition === 'alone')!;
    expect(Number(alone.value)).toBeCloseTo(compare.baseline.geometric_mean.estimate, 10);
    expect(Number(alone.low)).toBeCloseTo(compare.baseline.geometric_mean.low, 10);
  }, 120_000);

  it('report of an experiment with a failed run, a single repetition and no samples says so', async () => {
    const out = join(tempDir(), 'report');
    const r = await isoscope(edgeDir, ['report', edge, '--out', out]);
    expect(r.stdout).toContain(`report of ${edge}`);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('1 run failed');
    expect(md).toMatch(/single repetition/);
    expect(md).toContain(`No samples are tagged with any run of ${edge}`);
    expect(md).toMatch(/flaky: already ran|exit/);
    // The alone side still draws (one bar, no interval); nothing moved, nothing to align.
    expect(countMarks(readFileSync(join(out, 'figures/scaling.svg'), 'utf8'), 'bars_marks')).toBe(1);
    expect(countMarks(readFileSync(join(out, 'figures/scaling.svg'), 'utf8'), 'errors_marks')).toBe(0);
    expect(existsSync(join(out, 'figures/moved.svg'))).toBe(false);
    expect(md).toMatch(/no samples are tagged with these runs/);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('class="warn"');
    expect(checkHtmlOffline(html)).toEqual([]);
  }, 120_000);
});
