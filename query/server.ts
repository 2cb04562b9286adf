/** Serves the query app on a socket (@hono/node-server), with a clear error when the port is taken. */
import { serve, type ServerType } from '@hono/node-server';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { QueryApp } from './app.js';

export class QueryServer implements Lifecycle {
  private server: ServerType | null = null;
  /** The bound address, e.g. http://127.0.0.1:7410, after start. */
  url = '';

  constructor(private readonly app: QueryApp, private readonly listen: string) {}

  async start(): Promise<void> {
    const i = this.listen.lastIndexOf(':');
    const hostname = this.listen.slice(0, i);
    const port = Number(this.listen.slice(i + 1));
    await new Promise<void>((resolve, reject) => {
      const server = serve({ fetch: this.app.fetch, hostname, port }, (info) => {
        this.url = `http://${hostname}:${info.port}`;
        resolve();
      });
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`cannot listen on ${this.listen}: the port is taken; set query.listen (or ISOSCOPE_QUERY_LISTEN) to a free host:port`) : err),
      );
      this.server = server;
    });
  }

  async shutdown(_deadlineMs?: number): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
