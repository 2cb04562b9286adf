/**
 * The query HTTP API (hono). This first slice serves health and read-only SQL against the
 * configured store; the aligned-series, runs and compare endpoints build on the same app.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { BusProducer } from '../bus/bus.js';
import type { Store } from '../store/store.js';
import { busRoutes } from './bus-route.js';
import { requireAccess } from './auth.js';
import { toJson } from './json.js';

const sqlBody = z
  .object({
    sql: z.string().min(1, 'expected a non-empty SQL statement').max(100_000),
    limit: z.number().int().min(1).max(1_000_000).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();

export interface QueryAppOptions {
  store: Store;
  token?: string | undefined;
  /** When given, `POST /api/bus/:topic` accepts batches from collectors (`--sink http`). */
  busProducer?: BusProducer;
}

export function createQueryApp({ store, token, busProducer }: QueryAppOptions) {
  const app = new Hono();
  if (busProducer) app.route('/', busRoutes(busProducer, token));
  return app
    .onError((err, c) => c.json({ error: err.message }, 500))
    .get('/api/health', (c) => c.json({ ok: true, store: store.kind }))
    .post('/api/sql', requireAccess(token, true), async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: 'request body must be JSON: {"sql": "SELECT …"}' }, 400);
      }
      const parsed = sqlBody.safeParse(body);
      if (!parsed.success) {
        return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') }, 400);
      }
      try {
        const result = await store.query(parsed.data.sql, { ...(parsed.data.limit ? { limit: parsed.data.limit } : {}), ...(parsed.data.timeoutMs ? { timeoutMs: parsed.data.timeoutMs } : {}) });
        return c.body(toJson(result), 200, { 'content-type': 'application/json' });
      } catch (err) {
        return c.json({ error: (err as Error).message }, 400);
      }
    });
}

export type QueryApp = ReturnType<typeof createQueryApp>;
