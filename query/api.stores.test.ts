/**
 * The read API (runs, series, compare, Grafana endpoints) on both real stores, with the same
 * seeded experiment written to DuckDB and to the test run's QuestDB: every answer is checked
 * against values recomputed from the seed, and the two stores must answer alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowNs } from '../core/clock.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import type { Store } from '../store/store.js';
import { pollUntil, testServices, uniqueName } from '../test/services.js';
import { createQueryApp } from './app.js';
import { geometricMean, hedgesG, mean, slowdown } from './stats.js';
import { buildSeed, RUN_SECONDS, SEED_CPUS, seedHpl, writeSeed, type Seed } from './testdata/seed.js';

const S = 1_000_000_000n;
const seed: Seed = buildSeed(uniqueName('api').replace('api-', ''), (nowNs() / S - 7200n) * S);
const answers: Record<string, Record<string, unknown>> = { duckdb: {}, questdb: {} };

const makers: [string, () => Store][] = [
  ['duckdb', () => new DuckDbStore({ path: ':memory:' })],
  ['questdb', () => { const s = testServices(); return new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg, readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword }); }],
];

describe.each(makers)('query API on %s', (kind, make) => {
  let store: Store;
  let app: ReturnType<typeof createQueryApp>;
  const get = async (path: string) => {
    const res = await app.request(path);
    const body = (await res.json()) as Record<string, unknown>;
    return { status: res.status, body };
  };

  beforeAll(async () => {
    store = make();
    await store.start();
    app = createQueryApp({ store });
    await writeSeed(store, seed);
    // QuestDB applies WAL writes asynchronously: wait until every seeded sample is visible.
    const want = seed.records.samples!.length;
    const last = seed.runs.at(-1)!.run;
    await pollUntil(async () => (await store.query(`SELECT count(*) FROM samples WHERE run IN (${seed.runs.map((r) => `'${r.run}'`).join(',')})`)).rows[0]![0], (n) => Number(n) === want, 60_000);
    await pollUntil(async () => (await store.query(`SELECT count(*) FROM events WHERE run = '${last}'`)).rows[0]![0], (n) => Number(n) === 4, 30_000);
  }, 120_000);
  afterAll(() => store?.shutdown());

  it('lists runs with filters and folds their phases', async () => {
    const all = await get(`/api/runs?experiment=${seed.experiment}`);
    expect(all.status).toBe(200);
    const runs = all.body.runs as { run: string; status: string; result: number; duration_s: number; background: boolean; nodes: string[]; start_ns: string }[];
    expect(runs.map((r) => r.run)).toEqual(seed.runs.map((r) => r.run));
    expect(runs.every((r) => r.status === 'end' && r.duration_s === RUN_SECONDS)).toBe(true);
    expect(runs.map((r) => r.result)).toEqual(seed.runs.map((r) => r.result));
    expect(runs[0]!.start_ns).toBe(seed.runs[0]!.start.toString());
    expect(runs[0]!.nodes).toEqual(seed.nodes);
    // Samples per run and node (2 nodes × 3 cpu values × 60 s × 4 metrics).
    expect((runs[0] as unknown as { samples: unknown }).samples).toEqual({ total: 1440, by_node: Object.fromEntries(seed.nodes.map((n) => [n, 720])) });
    const bg = await get(`/api/runs?experiment=${seed.experiment}&background=true&stack=linux&workload=hpcc&node_count=2`);
    expect((bg.body.runs as { run: string }[]).map((r) => r.run)).toEqual(seed.runs.filter((r) => r.background).map((r) => r.run));
    expect((await get(`/api/runs?experiment=${seed.experiment}&node_count=3`)).body.runs).toEqual([]);
    const from = new Date(Number(seed.runs[1]!.start / 1_000_000n)).toISOString();
    const to = seed.runs[3]!.start.toString();
    const window = await get(`/api/runs?experiment=${seed.experiment}&from=${from}&to=${to}`);
    expect((window.body.runs as { run: string }[]).map((r) => r.run)).toEqual(seed.runs.slice(1, 3).map((r) => r.run));
    answers[kind]!.runs = runs;
  });

  it('shows one run with phases, partitions and provenance, and 404s an unknown one', async () => {
    const r = seed.runs[4]!;
    const { status, body } = await get(`/api/runs/${r.run}`);
    expect(status).toBe(200);
    expect((body.phases as { phase: string }[]).map((p) => p.phase)).toEqual(['start', 'end']);
    expect(body.partitions).toHaveLength(4);
    expect((body.partitions as { action: string; node: string }[]).map((p) => p.action).sort()).toEqual(['create', 'create', 'destroy', 'destroy']);
    expect(body.provenance).toEqual({ git: 'abc123', hpcc: { N: 1000 }, background_workload: 'stress-ng', figures: { hpl: seedHpl(r), dgemm: 7 }, figure_units: { hpl: 'GFLOP/s', dgemm: 'GFLOP/s' } });
    expect(body.result).toBe(r.result);
    expect(await get(`/api/runs/no-such-${seed.experiment}`)).toEqual({ status: 404, body: { error: expect.stringMatching(/no run "no-such-/) } });
    expect((await get(`/api/runs/bad'id`)).status).toBe(400);
  });

  it('aligns a metric of two runs on t_rel buckets, aggregated and per node', async () => {
    const [a, b] = [seed.runs[0]!, seed.runs[3]!];
    const { status, body } = await get(`/api/series?run=${a.run},${b.run}&metric=cpu.user&step=10s`);
    expect(status).toBe(200);
    expect(body.step_s).toBe(10);
    const series = body.series as { run: string; points: [number, number, number][] }[];
    expect(series.map((s) => s.run)).toEqual([a.run, b.run]);
    for (const [i, r] of [a, b].entries()) {
      const s = series[i]!;
      expect(s.points.map((p) => p[0])).toEqual([0, 10, 20, 30, 40, 50]);
      for (const [t, value, n] of s.points) {
        const vals = [0, 1].flatMap((node) => SEED_CPUS.flatMap((cpu) => Array.from({ length: 10 }, (_, k) => seed.value(r, node, cpu, 'cpu.user', t + k))));
        expect(n).toBe(vals.length);
        expect(value).toBeCloseTo(mean(vals), 9);
      }
    }
    const perNode = await get(`/api/series?run=${a.run}&metric=instructions&step=30s&by=node&agg=rate&cpu=-1`);
    const ps = perNode.body.series as { node: string; points: [number, number, number][] }[];
    expect(ps.map((s) => s.node)).toEqual(seed.nodes);
    const sum = Array.from({ length: 30 }, (_, k) => seed.value(a, 1, -1, 'instructions', 30 + k)).reduce((x, y) => x + y, 0);
    expect(ps[1]!.points[1]![1]).toBeCloseTo(sum / 30, 3);
    answers[kind]!.series = body.series;
    answers[kind]!.perNode = perNode.body.series;
  });

  it('chooses the step by itself and returns the events of the window', async () => {
    const r = seed.runs[5]!;
    const { body } = await get(`/api/series?run=${r.run}&metric=context-switches&points=12&by=cpu,partition&from=5s&to=40s`);
    expect(body.step_s).toBe(5); // 35 s / 12 points → 2.9 s → the next of 1, 2, 5 × 10^k is 5 s
    const series = body.series as { cpu: number; partition: string | null; points: [number][] }[];
    // cpu 0 and 1 belong to one partition per node; node-wide values (-1) have none, so one series.
    expect(series.map((s) => [s.cpu, s.partition === null]).sort()).toEqual([[-1, true], [0, false], [0, false], [1, false], [1, false]]);
    expect(series.every((s) => s.points[0]![0] === 5 && s.points.at(-1)![0] === 35)).toBe(true);
    const events = body.events as { runs: unknown[]; partitions: unknown[]; events: { kind: string; t_rel_s: number }[] };
    expect(events.events.map((e) => [e.kind, e.t_rel_s])).toEqual([['core_add', 10], ['core_add', 10], ['error', 20], ['error', 20]]);
    expect(events.runs).toEqual([]); // start at 0 s and end at 60 s are outside 5..40 s
    const whole = await get(`/api/series?run=${r.run}&metric=context-switches`);
    const we = whole.body.events as { runs: { phase: string }[]; partitions: unknown[] };
    expect(we.runs.map((x) => x.phase)).toEqual(['start', 'end']);
    expect(whole.body.step_s).toBe(0.5); // 59.5 s of data / 200 points
  });

  it('refuses bad series parameters with messages naming them', async () => {
    expect(await get(`/api/series?metric=cpu.user`)).toEqual({ status: 400, body: { error: expect.stringMatching(/run/) } });
    expect((await get(`/api/series?run=x';DROP&metric=cpu.user`)).body.error).toMatch(/run\.0: expected a run id/);
    expect((await get(`/api/series?run=a&metric=cpu.user&step=fast`)).body.error).toMatch(/step: "fast" is not a duration/);
    expect((await get(`/api/series?run=a&metric=cpu.user&agg=median`)).body.error).toMatch(/agg/);
    expect(await get(`/api/series?run=nope-${seed.experiment}&metric=cpu.user`)).toEqual({ status: 404, body: { error: expect.stringMatching(/no start of run nope-/) } });
  });

  it('compares background against baseline with a slowdown interval and effect sizes', async () => {
    const { status, body } = await get(`/api/compare?experiment=${seed.experiment}&top=20`);
    expect(status).toBe(200);
    const base = seed.runs.filter((r) => !r.background).map((r) => r.result);
    const bg = seed.runs.filter((r) => r.background).map((r) => r.result);
    const expected = slowdown(base, bg, true)!;
    expect(body.higher_is_better).toBe(true);
    expect(body.slowdown).toMatchObject({ estimate: expect.closeTo(expected.estimate, 12), low: expect.closeTo(expected.low, 12), high: expect.closeTo(expected.high, 12) });
    expect((body.slowdown as { estimate: number }).estimate).toBeGreaterThan(1.2);
    const metrics = body.metrics as { scope: string; metric: string; unit: string | null; hedges_g: number; delta: number; interfered_mean: number }[];
    // The workload's partition (cpus 0 and 1) first, then node-wide values (cpu −1).
    expect([...new Set(metrics.map((m) => m.scope))]).toEqual(['workload', 'node']);
    const derived = ['LLC-load-misses', 'context-switches', 'context-switches/s', 'cpu.user', 'instructions', 'llc_mpki'];
    expect(metrics.filter((m) => m.scope === 'workload').map((m) => m.metric).sort()).toEqual(derived);
    expect(metrics.filter((m) => m.scope === 'node').map((m) => m.metric).sort()).toEqual(derived);
    const perRunMean = (cpus: readonly number[]) => (r: (typeof seed.runs)[number]) => mean([0, 1].flatMap((node) => cpus.flatMap((cpu) => Array.from({ length: RUN_SECONDS }, (_, s) => seed.value(r, node, cpu, 'cpu.user', s)))));
    const g = (cpus: readonly number[]) => hedgesG(seed.runs.filter((r) => !r.background).map(perRunMean(cpus)), seed.runs.filter((r) => r.background).map(perRunMean(cpus)));
    const find = (scope: string, metric: string) => metrics.find((m) => m.scope === scope && m.metric === metric)!;
    expect(find('workload', 'cpu.user').hedges_g).toBeCloseTo(g([0, 1])!, 6);
    expect(find('node', 'cpu.user').hedges_g).toBeCloseTo(g([-1])!, 6);
    expect(find('workload', 'cpu.user').unit).toBe('s');
    expect(find('workload', 'instructions').delta).toBeLessThan(0);
    // Context switches per second: every sample of the scope in the run over the run's 60 s.
    const csRate = (r: (typeof seed.runs)[number]) => [0, 1].flatMap((node) => [0, 1].flatMap((cpu) => Array.from({ length: RUN_SECONDS }, (_, s) => seed.value(r, node, cpu, 'context-switches', s)))).reduce((a, b) => a + b, 0) / RUN_SECONDS;
    expect(find('workload', 'context-switches/s').unit).toBe('1/s');
    expect(find('workload', 'context-switches/s').interfered_mean).toBeCloseTo(mean(seed.runs.filter((r) => r.background).map(csRate)), 6);
    for (const scope of ['workload', 'node']) {
      const gs = metrics.filter((m) => m.scope === scope).map((m) => Math.abs(m.hedges_g));
      expect(gs).toEqual([...gs].sort((x, y) => y - x));
    }
    expect((await get(`/api/compare?experiment=nothing-${seed.experiment}`)).status).toBe(422);
    answers[kind]!.compare = body;
  });

  it('compares a named figure, and every cell of the experiment in one call', async () => {
    const base = seed.runs.filter((r) => !r.background);
    const bg = seed.runs.filter((r) => r.background);
    const hpl = await get(`/api/compare?experiment=${seed.experiment}&figure=hpl`);
    expect(hpl.status).toBe(200);
    expect(hpl.body).toMatchObject({ figure: 'hpl', unit: 'GFLOP/s', higher_is_better: true });
    expect((hpl.body.slowdown as { estimate: number }).estimate).toBeCloseTo(slowdown(base.map(seedHpl), bg.map(seedHpl), true)!.estimate, 12);
    expect((await get(`/api/compare?experiment=${seed.experiment}&figure=linpack`)).body.error).toMatch(/no finished run .* has figure "linpack" in config.figures; they have dgemm, hpl/);
    const { status, body } = await get(`/api/compare/cells?experiment=${seed.experiment}&figure=hpl&top=3`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ experiment: seed.experiment, figure: 'hpl', unit: 'GFLOP/s', runs: { total: 6, end: 6, fail: 0, abort: 0, usable: 6 }, figures: ['dgemm', 'hpl'] });
    const cells = body.cells as { stack: string; node_count: number; baseline: { geometric_mean: { estimate: number; low: number } }; slowdown: unknown; slowdown_estimate: number; metrics: { scope: string }[]; notes: string[] }[];
    expect(cells).toHaveLength(1);
    expect(cells[0]).toMatchObject({ stack: 'linux', node_count: 2, slowdown: hpl.body.slowdown, notes: [] });
    expect(cells[0]!.baseline.geometric_mean.estimate).toBeCloseTo(geometricMean(base.map(seedHpl))!.estimate, 12);
    expect(cells[0]!.baseline.geometric_mean.low).toBeCloseTo(geometricMean(base.map(seedHpl))!.low!, 12);
    expect(cells[0]!.metrics.filter((m) => m.scope === 'workload')).toHaveLength(3);
    expect((await get(`/api/compare/cells?experiment=nothing-${seed.experiment}`)).body.error).toMatch(/has no runs/);
    answers[kind]!.cells = body;
  });

  it('serves Grafana annotations and template variables', async () => {
    const from = (seed.runs[0]!.start - 5n * S) / 1_000_000n;
    const to = (seed.runs[1]!.start + 70n * S) / 1_000_000n;
    const res = await app.request(`/api/grafana/annotations?from=${from}&to=${to}&run=${seed.runs[0]!.run},${seed.runs[1]!.run}`);
    const ann = (await res.json()) as { time: number; title: string; tags: string[] }[];
    expect(ann.filter((a) => a.tags[0] === 'run').map((a) => a.title)).toEqual([`run ${seed.runs[0]!.run} start`, `run ${seed.runs[0]!.run} end`, `run ${seed.runs[1]!.run} start`, `run ${seed.runs[1]!.run} end`]);
    expect(ann.filter((a) => a.tags[0] === 'partition')).toHaveLength(8);
    expect(ann[0]!.time).toBe(Number((seed.runs[0]!.start - S) / 1_000_000n));
    const errs = await (await app.request(`/api/grafana/annotations?from=${from}&to=${Number(seed.runs[5]!.start / 1_000_000n) + 60_000}&experiment=${seed.experiment}&kinds=errors&run=${seed.runs[4]!.run}`)).json();
    expect((errs as { title: string }[]).map((e) => e.title)).toEqual([`error error on ${seed.nodes[0]}`, `error error on ${seed.nodes[1]}`]);
    const runsVar = (await (await app.request(`/api/grafana/variables/runs?experiment=${seed.experiment}`)).json()) as { value: string }[];
    expect(runsVar.map((v) => v.value)).toEqual(seed.runs.map((r) => r.run).sort());
    const nodesVar = await (await app.request(`/api/grafana/variables/nodes?run=${seed.runs[0]!.run}`)).json();
    expect(nodesVar).toEqual(seed.nodes.map((n) => ({ text: n, value: n })));
    const metricsVar = (await (await app.request(`/api/grafana/variables/metrics?run=${seed.runs[0]!.run}`)).json()) as { value: string }[];
    expect(metricsVar.map((m) => m.value)).toEqual(['LLC-load-misses', 'context-switches', 'cpu.user', 'instructions']);
    expect((await (await app.request('/api/grafana/variables/experiments')).json()) as unknown[]).toContainEqual({ text: seed.experiment, value: seed.experiment });
    expect(await (await app.request('/api/grafana/variables/colours')).json()).toEqual({ error: expect.stringMatching(/unknown variable "colours"/) });
    const flat = (await (await app.request(`/api/grafana/series?run=${seed.runs[0]!.run}&metric=cpu.user&step=20s&by=node`)).json()) as { time: number; series: string; value: number }[];
    expect(flat.map((p) => [p.time, p.series])).toEqual([0, 20000, 40000].map((t) => [t, `${seed.runs[0]!.run} node=${seed.nodes[0]}`]).concat([0, 20000, 40000].map((t) => [t, `${seed.runs[0]!.run} node=${seed.nodes[1]}`])));
  });
});

describe('both stores', () => {
  it('answer runs, series and compare alike', () => {
    const { duckdb, questdb } = answers;
    for (const key of ['runs', 'series', 'perNode', 'compare', 'cells']) {
      expect(questdb![key], `${key} was answered by both`).toBeDefined();
      expect(roundDeep(questdb![key])).toEqual(roundDeep(duckdb![key]));
    }
  });
});

/** Numbers to 9 significant digits: sums in another order differ in the last bits. */
function roundDeep(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? Number(v.toPrecision(9)) : v;
  if (Array.isArray(v)) return v.map(roundDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundDeep(x)]));
  return v;
}
