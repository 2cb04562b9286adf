/**
 * Every query of every dashboard, as Grafana would send it (variables and macros expanded the way
 * Grafana and the QuestDB plugin expand them, testing/macros.ts), against the real QuestDB seeded by
 * a real pipeline run (procfs collectors → Kafka → ingest → QuestDB, with run, partition and event
 * records through the bus): template variables offer the seeded values, every panel and annotation
 * query returns rows with the expected columns, and every Infinity target gets a non-empty answer
 * from the query API over the same QuestDB.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { createQueryApp } from '../query/app.js';
import type { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { expandInfinityUrl, expandQuestDbSql, type ExpandContext } from './testing/macros.js';
import { runPipeline, type PipelineSeed } from './testing/pipeline-seed.js';
import { dashboard, isQuestDbTarget, type Dashboard, type InfinityTarget, type Target } from './testing/schema.js';

const dir = new URL('.', import.meta.url).pathname;
const dashboards: Dashboard[] = readdirSync(join(dir, 'dashboards')).filter((f) => f.endsWith('.json')).sort().map((f) => dashboard.parse(JSON.parse(readFileSync(join(dir, 'dashboards', f), 'utf8'))));

/** Columns each panel's query must return (by dashboard uid and panel title), first ones in order. */
const EXPECTED: Record<string, string[]> = {
  'Runs': ['run', 'workload', 'stack', 'node_count', 'background', 'repetition', 'started', 'outcome', 'result', 'unit', 'duration_s', 'start_ms', 'end_ms'],
  'Result by node count, stack and background': ['configuration', 'background', 'mean_result', 'sd_result', 'repetitions'],
  'Runs by outcome': ['phase', 'runs'],
  'Metrics of the run (node-wide)': ['time', 'metric', 'value'],
  'Per-CPU values of the run': ['time', 'cpu', 'value'],
  'Aligned on run start (t = dashboard start + t_rel)': ['time', 'run', 'value'],
  'Events of the run (t_rel = seconds since run start)': ['time', 't_rel_s', 'node', 'source', 'level', 'kind', 'partition', 'message'],
  'Partitions of the run': ['time', 'partition', 'node', 'driver', 'action', 'cpus', 'mem_mb', 'numa', 'devices'],
  'Results with and without background': ['background', 'repetitions', 'mean_result', 'sd_result', 'min_result', 'max_result', 'unit'],
  'Baseline vs interfered, aligned on run start (t = dashboard start + t_rel)': ['time', 'config', 'value'],
  'Node-wide metrics': ['time', 'metric', 'value'],
  'Per-CPU busy (cpu.user + cpu.system)': ['time', 'cpu', 'value'],
  'Runs on this node': ['time', 'run', 'experiment', 'workload', 'phase', 'stack', 'background', 'result', 'unit'],
  'Partitions on this node': ['time', 'partition', 'driver', 'action', 'cpus', 'mem_mb', 'run'],
  'Events of this node': ['time', 'source', 'level', 'kind', 'partition', 'run', 'message'],
};
/** Infinity targets: the part of the answer (root_selector) that must be non-empty. */
const INFINITY_PANELS = ['Slowdown by configuration (query API)', 'Slowdown (ratio of geometric means, 95% Welch interval)', 'Metrics that moved most (per-run means, Hedges\' g)', 'Aligned series from the query API'];

describe('dashboards against QuestDB seeded by a real pipeline run', () => {
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;
  let seed: PipelineSeed;
  let app: ReturnType<typeof createQueryApp>;

  beforeAll(async () => {
    ({ bus, store, db } = await openKafkaQuestDb());
    seed = await runPipeline(bus, store);
    app = createQueryApp({ store });
  }, 180_000);
  afterAll(() => closeKafkaQuestDb({ bus, store, db }));

  /** The variable values a user would pick for the seeded experiment, checked against the variable queries. */
  async function context(d: Dashboard): Promise<ExpandContext> {
    const ctx: ExpandContext = { fromMs: seed.fromMs, toMs: seed.toMs, vars: {} };
    const pick: Record<string, string[]> = { experiment: [seed.experiment], run: seed.runs.map((r) => r.run), node: [seed.runs[2]!.node], metric: ['cpu.user', 'cpu.system'] };
    for (const v of d.templating.list) {
      const sql = expandQuestDbSql(v.query.rawSql, ctx);
      const offered = (await store.query(sql, { limit: 100_000 })).rows.map((r) => String(r[0]));
      const wanted = v.multi ? pick[v.name]! : pick[v.name]!.slice(0, 1);
      expect(offered, `variable ${v.name} of ${d.uid}: ${sql}`).toEqual(expect.arrayContaining(wanted));
      ctx.vars[v.name] = { value: v.multi ? wanted : wanted[0]!, multi: v.multi, includeAll: v.includeAll };
    }
    return ctx;
  }

  async function runSql(t: Target, ctx: ExpandContext) {
    if (!isQuestDbTarget(t)) throw new Error('not a QuestDB target');
    const sql = expandQuestDbSql(t.rawSql, ctx);
    try {
      return await store.query(sql, { limit: 100_000 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nin: ${sql}`);
    }
  }

  it('covers every panel with an expectation', () => {
    const titles = dashboards.flatMap((d) => d.panels.map((p) => p.title));
    expect([...titles].sort()).toEqual([...Object.keys(EXPECTED), ...INFINITY_PANELS].sort());
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: every panel query returns rows of the expected shape', async (_uid, d) => {
    const ctx = await context(d);
    for (const p of d.panels) {
      for (const t of p.targets) {
        if (isQuestDbTarget(t)) {
          const res = await runSql(t, ctx);
          expect(res.columns.map((c) => c.name), p.title).toEqual(EXPECTED[p.title]);
          expect(res.rows.length, `${p.title} returned no rows`).toBeGreaterThan(0);
          if (t.format === 0) expect(res.columns[0]!.type, `${p.title}: a time series needs a timestamp first`).toMatch(/timestamp/);
        } else {
          const i = t as InfinityTarget;
          const url = expandInfinityUrl(i.url, i.url_options.params, ctx);
          const res = await app.request(url);
          const body = (await res.json()) as Record<string, unknown>;
          expect(res.status, `${p.title}: GET ${url} → ${JSON.stringify(body).slice(0, 300)}`).toBe(200);
          const part = i.root_selector ? body[i.root_selector] : body;
          expect(part, `${p.title}: ${i.root_selector || 'body'} of GET ${url}`).toBeTruthy();
          expect(Array.isArray(part) ? part.length : Object.keys(part as object).length, p.title).toBeGreaterThan(0);
        }
      }
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: every annotation query returns time, text and tags', async (_uid, d) => {
    const ctx = await context(d);
    for (const a of d.annotations.list) {
      if (!('target' in a)) continue;
      const t = a.target as Target;
      if (isQuestDbTarget(t)) {
        const res = await runSql(t, ctx);
        expect(res.columns.map((c) => c.name), a.name).toEqual(['time', 'text', 'tags']);
        expect(res.rows.length, `${a.name} returned no rows`).toBeGreaterThan(0);
      } else {
        const i = t as InfinityTarget;
        const res = await app.request(expandInfinityUrl(i.url, i.url_options.params, ctx));
        const rows = (await res.json()) as { time: number; title: string; tags: string[] }[];
        expect(res.status, a.name).toBe(200);
        expect(rows.length, `${a.name} returned no rows`).toBeGreaterThan(0);
        expect(Object.keys(rows[0]!)).toEqual(['time', 'timeEnd', 'title', 'text', 'tags']);
      }
    }
  });
});
