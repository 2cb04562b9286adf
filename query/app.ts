/**
 * The query HTTP API (hono): health, read-only SQL in four formats, runs, aligned series,
 * isolation comparison, Grafana endpoints, the OpenAPI document and Prometheus metrics; plus the
 * bus entry for remote collectors when a producer is given. Reads are open to loopback clients,
 * everything else needs the bearer token (auth.ts). Every error is JSON `{"error": "…"}`.
 */
import { Hono } from 'hono';
import type { BusProducer } from '../bus/bus.js';
import type { Store } from '../store/store.js';
import { busRoutes } from './bus-route.js';
import { requireAccess } from './auth.js';
import { HttpError, unavailable } from './http.js';
import { QueryMetrics } from './metrics.js';
import { analysisRoutes } from './routes/analysis.js';
import { grafanaRoutes } from './routes/grafana.js';
import { openApiRoutes } from './routes/openapi.js';
import { runsRoutes } from './routes/runs.js';
import { sqlRoutes } from './routes/sql.js';
import { webRoutes } from './routes/web.js';

export interface QueryAppOptions {
  store: Store;
  token?: string | undefined;
  /** When given, `POST /api/bus/:topic` accepts batches from collectors (`--sink http`). */
  busProducer?: BusProducer;
}

export function createQueryApp({ store, token, busProducer }: QueryAppOptions) {
  const metrics = new QueryMetrics();
  const app = new Hono();
  app.use('*', metrics.middleware());
  app.onError((err, c) => {
    const known = err instanceof HttpError ? err : unavailable(err);
    if (known) return c.json({ error: known.message }, known.status);
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}: see /openapi.json for the routes` }, 404));
  app.get('/api/health', (c) => c.json({ ok: true, store: store.kind }));
  // The explorer's static files (no data; every number comes from /api/* under the access rule).
  app.route('/', webRoutes());
  if (busProducer) app.route('/', busRoutes(busProducer, token));
  const read = requireAccess(token, true);
  app.use('/api/*', read);
  app.use('/openapi.json', read);
  app.use('/metrics', read);
  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
  app.route('/', openApiRoutes());
  app.route('/', sqlRoutes(store));
  app.route('/', runsRoutes(store));
  app.route('/', analysisRoutes(store));
  app.route('/', grafanaRoutes(store));
  return app;
}

export type QueryApp = ReturnType<typeof createQueryApp>;
