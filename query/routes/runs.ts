/** `GET /api/runs` (filtered list) and `GET /api/runs/:id` (phases, partitions, result, provenance). */
import { Hono } from 'hono';
import { quoteIdent } from '../../schema/ddl/quote.js';
import type { Store } from '../../store/store.js';
import { HttpError, queryParams, storeError } from '../http.js';
import { toJson } from '../json.js';
import { loadRuns, queryAll, sampleCounts, specHashOf } from '../runs.js';
import { dialectOf, toNs } from '../sql/dialect.js';
import { NAME_PATTERN, str } from '../sql/literals.js';
import { isoNs } from '../time.js';
import { runsQuery } from './params.js';

export function runsRoutes(store: Store) {
  return new Hono()
    .get('/api/runs', async (c) => {
      const { spec_hash: version, ...q } = queryParams(c, runsQuery);
      const loaded = await loadRuns(store, q).catch((err: unknown) => Promise.reject(storeError(err)));
      const runs = version === undefined ? loaded : loaded.filter((r) => specHashOf(r)?.startsWith(version));
      const counts = await sampleCounts(store, runs.map((r) => r.run)).catch((err: unknown) => Promise.reject(storeError(err)));
      return c.body(toJson({ runs: runs.map(({ phases: _p, config: _c, ...r }) => ({ ...r, spec_hash: specHashOf({ config: _c }), samples: counts.get(r.run) })) }), 200, { 'content-type': 'application/json' });
    })
    .get('/api/runs/:id', async (c) => {
      const id = c.req.param('id');
      if (!NAME_PATTERN.test(id)) throw new HttpError(400, `"${id}" is not a run id: expected letters, digits and . _ : / @ + -`);
      const [run] = await loadRuns(store, { run: [id] });
      if (!run) throw new HttpError(404, `no run "${id}" in the runs table`);
      const d = dialectOf(store.kind);
      const parts = await queryAll(store, `SELECT ${d.ns('ts')} AS ts_ns, ${quoteIdent('partition')}, node, driver, action, cpus, mem_mb, numa, devices, message FROM partitions WHERE run = ${str(id)} ORDER BY ts`);
      const names = parts.columns.map((col) => col.name);
      const partitions = parts.rows.map((row) => {
        const o = Object.fromEntries(names.map((n, i) => [n, row[i]])) as Record<string, unknown>;
        return { ...o, ts: isoNs(toNs(o.ts_ns)), ts_ns: String(o.ts_ns) };
      });
      const { config, ...rest } = run;
      const samples = (await sampleCounts(store, [id])).get(id);
      return c.body(toJson({ ...rest, spec_hash: specHashOf(run), samples, partitions, provenance: config }), 200, { 'content-type': 'application/json' });
    });
}
