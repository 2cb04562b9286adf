/** A real local webhook receiver for tests: records every request; answers by a script of statuses. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  atMs: number;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface TestReceiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1; the n-th request gets statuses[n] (the last one repeats), default 200. */
export async function startReceiver(statuses: number[] = [200]): Promise<TestReceiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses[Math.min(received.length, statuses.length - 1)]!;
      received.push({ atMs: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
