/**
 * The service around the routes, on a real DuckDB store: the OpenAPI document lists every route
 * with the parameters the routes validate, /metrics counts requests by route, unknown routes and
 * bad requests answer JSON errors, and non-loopback reads need the bearer token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { createQueryApp } from './app.js';

const REMOTE = { incoming: { socket: { remoteAddress: '192.0.2.7' } } };
const TOKEN = 'a-long-enough-test-token';

describe('query service', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  let app: ReturnType<typeof createQueryApp>;
  beforeAll(async () => {
    await store.start();
    app = createQueryApp({ store, token: TOKEN });
  });
  afterAll(() => store.shutdown());

  it('publishes an OpenAPI 3.1 document of every route', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; required: boolean }[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/sql', '/api/runs', '/api/runs/{id}', '/api/series', '/api/compare', '/api/grafana/annotations', '/api/grafana/variables/{name}', '/api/grafana/series', '/metrics']));
    const series = doc.paths['/api/series']!.get!.parameters!;
    expect(series.map((p) => p.name)).toEqual(['run', 'metric', 'step', 'points', 'by', 'agg', 'node', 'cpu', 'from', 'to', 'events']);
    expect(series.filter((p) => p.required).map((p) => p.name)).toEqual(['run', 'metric']);
    expect(doc.paths['/api/runs']!.get!.parameters!.map((p) => p.name)).toEqual(['experiment', 'workload', 'stack', 'node_count', 'background', 'from', 'to', 'spec_hash']);
  });

  it('counts its requests on /metrics', async () => {
    await app.request('/api/runs');
    await app.request('/api/runs?node_count=x');
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/^isoscope_query_requests_total\{route="\/api\/runs",method="GET",status="200"\} [1-9]/m);
    expect(text).toMatch(/^isoscope_query_requests_total\{route="\/api\/runs",method="GET",status="400"\} [1-9]/m);
    expect(text).toMatch(/^isoscope_query_request_seconds_count\{route="\/api\/runs"\} [1-9]/m);
    expect(text).toMatch(/^isoscope_query_process_cpu_seconds_total /m);
  });

  it('answers JSON errors that say what was wrong', async () => {
    const nf = await app.request('/api/nothing');
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ error: 'no route GET /api/nothing: see /openapi.json for the routes' });
    expect(await (await app.request('/api/runs?node_count=two')).json()).toEqual({ error: 'bad query parameters: node_count: expected a whole number' });
    expect(await (await app.request('/api/runs?colour=red')).json()).toEqual({ error: expect.stringMatching(/bad query parameters: .*colour/) });
    expect(await (await app.request('/api/runs?from=yesterday')).json()).toEqual({ error: expect.stringMatching(/^bad query parameters: from: cannot read "yesterday" as a timestamp/) });
    expect(await (await app.request('/api/compare')).json()).toEqual({ error: expect.stringMatching(/experiment/) });
  });

  it('lets loopback read without a token; others need it', async () => {
    for (const path of ['/api/runs', '/api/series?run=a&metric=b', '/api/grafana/variables/runs', '/openapi.json', '/metrics']) {
      const res = await app.request(path, {}, REMOTE);
      expect(res.status, path).toBe(401);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/bearer token/) });
    }
    expect((await app.request('/api/runs', { headers: { authorization: `Bearer ${TOKEN}` } }, REMOTE)).status).toBe(200);
    expect((await app.request('/api/health', {}, REMOTE)).status).toBe(200);
  });
});

describe('query service without its store', () => {
  it('answers 503 with the reason when the store is not running', async () => {
    const store = new DuckDbStore({ path: ':memory:' }); // never started
    const app = createQueryApp({ store });
    const res = await app.request('/api/runs');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/^the store cannot answer now: the DuckDB store :memory: is not started/) });
    const sql = await app.request('/api/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"SELECT 1"}' });
    expect(sql.status).toBe(503);
    expect((await app.request('/api/runs/r1')).status).toBe(503);
    expect((await app.request('/api/compare?experiment=e1')).status).toBe(503);
  });
});
