// Loopback ports for the services: free ones picked by the kernel (bind port 0, read it, release it), a
// check that a port the user fixed is not taken, and a TCP probe used by health checks and by tests that
// assert a stopped service no longer listens.
import { createConnection, createServer, type Server } from 'node:net';
import { ServicesError } from './process.js';

/** Every service listens on this address only. */
export const LOOPBACK = '127.0.0.1';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `count` distinct free loopback ports. All are held at once before being released, so they differ from
 * each other; another program could still take one before the service binds it (then the service's log
 * says "Address already in use").
 * @example const [kafka, controller] = await freePorts(2);
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(0));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('a TCP server has no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** True if nothing listens on `127.0.0.1:port` (we could bind it ourselves). */
export async function isPortFree(port: number): Promise<boolean> {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
}

/** True if something accepts TCP connections on `host:port` within `timeoutMs`. @default timeoutMs 1000 */
export function isPortOpen(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** `"127.0.0.1:9092"` → `9092`; throws on anything else. */
export function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`not a host:port address: ${address}`);
  return port;
}

/** One port a service needs: a fixed number the user asked for, or `undefined` for any free port. */
export interface PortRequest {
  /** What the port is for, e.g. `Kafka`; used in error messages. */
  purpose: string;
  /** The command-line option that fixes it, e.g. `--kafka-port`; used in error messages. */
  option?: string;
  port?: number;
}

/**
 * Resolves every request to a port: fixed ones are checked to be valid, distinct and free (else the error
 * names the port and the option), the others get distinct free ports that differ from the fixed ones.
 * @example const [kafka, controller] = await choosePorts([{ purpose: 'Kafka', option: '--kafka-port', port: 39092 }, { purpose: 'KRaft controller' }]);
 */
export async function choosePorts(requests: PortRequest[]): Promise<number[]> {
  const fixed = new Set<number>();
  for (const r of requests) {
    if (r.port === undefined) continue;
    const what = `${r.purpose}${r.option ? ` (${r.option})` : ''}`;
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) throw new ServicesError(`port ${r.port} for ${what} is not a port number (1-65535)`);
    if (fixed.has(r.port)) throw new ServicesError(`port ${r.port} for ${what} is also asked for another service; give each service its own port`);
    if (!(await isPortFree(r.port))) {
      throw new ServicesError(`port ${r.port} for ${what} is already in use on ${LOOPBACK}; choose another port or stop the program that listens there`);
    }
    fixed.add(r.port);
  }
  const needed = requests.filter((r) => r.port === undefined).length;
  const free = (await freePorts(needed + fixed.size)).filter((p) => !fixed.has(p)).slice(0, needed);
  return requests.map((r) => r.port ?? (free.shift() as number));
}
