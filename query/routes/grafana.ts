/**
 * Endpoints for Grafana through the Infinity datasource (yesoreyeram-infinity-datasource, JSON
 * parser): annotations (run phases, partition actions, error events) as rows with `time`,
 * `timeEnd`, `title`, `text`, `tags`; template variable values as `{text, value}` rows; and the
 * aligned series as flat rows (`time` = t_rel as epoch milliseconds, so runs overlay on one axis).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { quoteIdent } from '../../schema/ddl/quote.js';
import type { Store } from '../../store/store.js';
import { HttpError, queryParams, storeError } from '../http.js';
import { queryAll } from '../runs.js';
import { alignedSeries, NotFound } from '../series.js';
import { dialectOf, toNs } from '../sql/dialect.js';
import { inList, name, str } from '../sql/literals.js';
import { timeParam } from '../time.js';
import { seriesQuery } from './params.js';

export const VARIABLES = ['experiments', 'runs', 'nodes', 'metrics'] as const;

export const annotationsQuery = z
  .object({
    from: timeParam.describe('Window start (epoch ms as Grafana sends ${__from}, or ISO-8601).'),
    to: timeParam.describe('Window end.'),
    experiment: name('experiment name').optional(),
    run: z.array(name('run id')).optional(),
    kinds: z.array(z.enum(['runs', 'partitions', 'errors'])).default(['runs', 'partitions', 'errors']).describe('Which annotations: runs, partitions, errors.'),
  })
  .strict();

export const variablesQuery = z
  .object({
    experiment: name('experiment name').optional().describe('For runs: only this experiment.'),
    run: z.array(name('run id')).optional().describe('For nodes and metrics: only samples of these runs.'),
  })
  .strict();

const ms = (ns: unknown) => Number(toNs(ns) / 1_000_000n);

export function grafanaRoutes(store: Store) {
  const d = dialectOf(store.kind);
  return new Hono()
    .get('/api/grafana/annotations', async (c) => {
      const q = queryParams(c, annotationsQuery);
      const win = `ts >= ${d.ts(q.from)} AND ts < ${d.ts(q.to)}`;
      const runFilter = q.run?.length ? ` AND run IN ${inList(q.run)}` : '';
      const out: { time: number; timeEnd: number; title: string; text: string; tags: string[] }[] = [];
      try {
        if (q.kinds.includes('runs')) {
          const exp = q.experiment ? ` AND experiment = ${str(q.experiment)}` : '';
          const res = await queryAll(store, `SELECT ${d.ns('ts')} AS ts_ns, run, experiment, workload, phase, stack, background, result, unit, message FROM runs WHERE ${win}${runFilter}${exp} ORDER BY ts, run`);
          for (const [ts, run, experiment, workload, phase, stack, background, result, unit, message] of res.rows) {
            const detail = phase === 'end' && result !== null ? `result ${result}${unit ? ` ${unit}` : ''}` : (message ?? '');
            out.push({ time: ms(ts), timeEnd: ms(ts), title: `run ${run} ${phase}`, text: `${experiment}/${workload} on ${stack}${background ? ' with background' : ''} ${detail}`.trim(), tags: ['run', String(phase), String(run)] });
          }
        }
        if (q.kinds.includes('partitions')) {
          const res = await queryAll(store, `SELECT ${d.ns('ts')} AS ts_ns, ${quoteIdent('partition')}, node, driver, action, cpus, mem_mb, run FROM partitions WHERE ${win}${runFilter} ORDER BY ts, node`);
          for (const [ts, partition, node, driver, action, cpus, mem, run] of res.rows) {
            out.push({ time: ms(ts), timeEnd: ms(ts), title: `partition ${partition} ${action} on ${node}`, text: `${driver}: cpus ${cpus || '-'}, ${mem} MiB${run ? `, run ${run}` : ''}`, tags: ['partition', String(action), String(node)] });
          }
        }
        if (q.kinds.includes('errors')) {
          const res = await queryAll(store, `SELECT ${d.ns('ts')} AS ts_ns, node, source, level, kind, message FROM events WHERE ${win}${runFilter} AND level IN ('error', 'critical') ORDER BY ts, node LIMIT 1000`);
          for (const [ts, node, source, level, kind, message] of res.rows) {
            out.push({ time: ms(ts), timeEnd: ms(ts), title: `${level} ${kind} on ${node}`, text: `${source}: ${message}`, tags: ['event', String(level), String(source)] });
          }
        }
      } catch (err) {
        throw storeError(err);
      }
      out.sort((a, b) => a.time - b.time);
      return c.json(out);
    })
    .get('/api/grafana/variables/:name', async (c) => {
      const variable = c.req.param('name');
      if (!(VARIABLES as readonly string[]).includes(variable)) throw new HttpError(404, `unknown variable "${variable}": expected ${VARIABLES.join(', ')}`);
      const q = queryParams(c, variablesQuery);
      const runFilter = q.run?.length ? ` WHERE run IN ${inList(q.run)}` : '';
      const sql = {
        experiments: 'SELECT DISTINCT experiment AS v FROM runs ORDER BY v',
        runs: `SELECT DISTINCT run AS v FROM runs${q.experiment ? ` WHERE experiment = ${str(q.experiment)}` : ''} ORDER BY v`,
        nodes: `SELECT DISTINCT node AS v FROM samples${runFilter} ORDER BY v`,
        metrics: `SELECT DISTINCT metric AS v FROM samples${runFilter} ORDER BY v`,
      }[variable as (typeof VARIABLES)[number]];
      const res = await queryAll(store, sql).catch((err: unknown) => Promise.reject(storeError(err)));
      return c.json(res.rows.filter((r) => r[0] !== null).map((r) => ({ text: String(r[0]), value: String(r[0]) })));
    })
    .get('/api/grafana/series', async (c) => {
      const q = queryParams(c, seriesQuery);
      try {
        const body = await alignedSeries(store, { runs: q.run, metric: q.metric, step: q.step, points: q.points, by: q.by, agg: q.agg, node: q.node, cpu: q.cpu, fromRel: q.from, toRel: q.to, eventLimit: 0 });
        const rows = body.series.flatMap((s) => {
          const label = [s.run, ...q.by.map((b) => `${b}=${(s as unknown as Record<string, unknown>)[b]}`)].join(' ');
          return s.points.map(([t, value]) => ({ time: Math.round(t * 1000), t_rel_s: t, series: label, run: s.run, value }));
        });
        return c.json(rows);
      } catch (err) {
        if (err instanceof NotFound) throw new HttpError(404, err.message);
        throw storeError(err);
      }
    });
}
