/**
 * A small HTTP server for Prometheus: `GET /metrics` returns the registry in the text exposition
 * format; everything else is 404. Ingest listens on `ingest.metricsListen` (default 127.0.0.1:9464); the
 * alerts evaluator and the collector use it too (`alerts.metricsListen`, `collector.metricsListen`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Lifecycle } from '../schema/lifecycle.js';

export class MetricsServer implements Lifecycle {
  private server: Server | null = null;

  /**
   * @param listen `host:port`; port 0 picks a free port (see `address`).
   * @param what what is served, for the error message. @default 'ingest metrics'
   */
  constructor(private readonly registry: Registry, private readonly listen: string, private readonly what = 'ingest metrics') {}

  async start(): Promise<void> {
    const m = /^(.+):(\d{1,5})$/.exec(this.listen);
    if (!m) throw new Error(`the metrics address "${this.listen}" is not valid; expected host:port, e.g. 127.0.0.1:9464`);
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${err.message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`cannot serve ${this.what} on ${this.listen}: ${err.message}`)));
      server.listen(Number(m[2]), m[1], () => resolve());
    });
    this.server = server;
  }

  /** The address actually listened on, `host:port`. */
  get address(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('the metrics server is not listening');
    return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
