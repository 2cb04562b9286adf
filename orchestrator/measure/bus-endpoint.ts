/**
 * The orchestrator's HTTP entry to its bus, for collectors on other machines when the bus is the
 * embedded one (a local log no remote process can write): `POST /api/bus/:topic` (query/bus-route.ts,
 * the same route `isoscope up` serves) with a bearer token made for this experiment. The token
 * reaches a node's collector through a 0600 file written over the transport's stdin, never argv.
 */
import { randomBytes } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { BusProducer } from '../../bus/bus.js';
import { busRoutes } from '../../query/bus-route.js';

export class CollectorBusEndpoint {
  readonly token = randomBytes(24).toString('hex');
  /** Bound address after start, e.g. http://127.0.0.1:41234. */
  url = '';
  private server: ServerType | null = null;

  constructor(private readonly producer: BusProducer, private readonly listen: string) {}

  async start(): Promise<void> {
    const i = this.listen.lastIndexOf(':');
    const hostname = this.listen.slice(0, i);
    const port = Number(this.listen.slice(i + 1));
    const app = busRoutes(this.producer, this.token);
    await new Promise<void>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, hostname, port }, (info) => {
        this.url = `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${info.port}`;
        resolve();
      });
      server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`cannot listen on ${this.listen} for the collectors: the port is taken; choose another with --collector-listen`) : err));
      this.server = server;
    });
  }

  async shutdown(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
