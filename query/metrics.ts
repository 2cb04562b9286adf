/**
 * The query service's own Prometheus metrics (prom-client, one registry per app): requests by
 * route, method and status, their latency, and the process defaults; served on `GET /metrics`.
 */
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export class QueryMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'isoscope_query_requests_total', help: 'HTTP requests answered, by route, method and status.', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
  private readonly seconds = new Histogram({ name: 'isoscope_query_request_seconds', help: 'Time to answer a request, by route.', labelNames: ['route'], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'isoscope_query_' });
  }

  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = process.hrtime.bigint();
      await next();
      // The route of the handler that answered: the last matched one that is not a middleware.
      const route = matchedRoutes(c).filter((r) => r.method !== 'ALL').at(-1)?.path ?? 'unmatched';
      this.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
      this.seconds.observe({ route }, Number(process.hrtime.bigint() - start) / 1e9);
    };
  }
}
