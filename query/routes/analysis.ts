/** `GET /api/series` (aligned series of runs), `GET /api/compare` (background vs baseline) and `GET /api/compare/cells` (every cell of an experiment). */
import { Hono } from 'hono';
import type { Store } from '../../store/store.js';
import { compareExperiment, compareRuns, CompareError } from '../compare.js';
import { HttpError, queryParams, storeError } from '../http.js';
import { toJson } from '../json.js';
import { alignedSeries, NotFound } from '../series.js';
import { compareCellsQuery, compareQuery, seriesQuery } from './params.js';

const json = { 'content-type': 'application/json' };

export function analysisRoutes(store: Store) {
  return new Hono()
    .get('/api/series', async (c) => {
      const q = queryParams(c, seriesQuery);
      if (q.from !== undefined && q.to !== undefined && q.to <= q.from) throw new HttpError(400, 'bad query parameters: to must be after from');
      try {
        const body = await alignedSeries(store, { runs: q.run, metric: q.metric, step: q.step, points: q.points, by: q.by, agg: q.agg, node: q.node, cpu: q.cpu, fromRel: q.from, toRel: q.to, eventLimit: q.events });
        return c.body(toJson(body), 200, json);
      } catch (err) {
        if (err instanceof NotFound) throw new HttpError(404, err.message);
        throw storeError(err);
      }
    })
    .get('/api/compare', async (c) => {
      const q = queryParams(c, compareQuery);
      try {
        const body = await compareRuns(store, { experiment: q.experiment, workload: q.workload, stack: q.stack, node_count: q.node_count, figure: q.figure, spec_hash: q.spec_hash, higherIsBetter: q.better === undefined ? undefined : q.better === 'higher', top: q.top, level: q.level });
        return c.body(toJson(body), 200, json);
      } catch (err) {
        if (err instanceof CompareError) throw new HttpError(422, err.message);
        throw storeError(err);
      }
    })
    .get('/api/compare/cells', async (c) => {
      const q = queryParams(c, compareCellsQuery);
      try {
        const body = await compareExperiment(store, { experiment: q.experiment, figure: q.figure, spec_hash: q.spec_hash, higherIsBetter: q.better === undefined ? undefined : q.better === 'higher', top: q.top, level: q.level });
        return c.body(toJson(body), 200, json);
      } catch (err) {
        if (err instanceof CompareError) throw new HttpError(422, err.message);
        throw storeError(err);
      }
    });
}
