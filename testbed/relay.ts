/**
 * A TCP relay process: `node relay.js LISTEN_HOST TARGET_HOST PORT…` accepts on LISTEN_HOST:PORT and
 * connects each client to TARGET_HOST:PORT (the same port). The testbed runs one on the host (bridge
 * address → 127.0.0.1, where isoscope's services listen) and one inside every node (127.0.0.1 →
 * bridge address), so a node reaches a service at the address the service advertises (Kafka's
 * brokers answer "127.0.0.1:port"). Exits on SIGTERM.
 */
import { connect, createServer, type Socket } from 'node:net';

const [listenHost, targetHost, ...ports] = process.argv.slice(2);
if (!listenHost || !targetHost || ports.length === 0 || ports.some((p) => !/^\d+$/.test(p))) {
  process.stderr.write('usage: relay.js LISTEN_HOST TARGET_HOST PORT…\n');
  process.exit(2);
}

// `up` reads the ready line and closes its end of the pipes: later writes must not kill the relay.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
let ready = false;

const sockets = new Set<Socket>();
const servers = ports.map((p) => {
  const port = Number(p);
  // Half-open both ways: a client that sends and then shuts its side still gets the answer.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: targetHost, port, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on('error', (err) => {
    process.stderr.write(`relay: cannot listen on ${listenHost}:${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, listenHost, () => {
    if (!ready && servers.every((s) => s.listening)) {
      ready = true; // once: every server's callback gets here, and a second write would hit a closed pipe
      process.stdout.write('listening\n');
    }
  });
  return server;
});

process.on('SIGTERM', () => {
  for (const s of servers) s.close();
  for (const s of sockets) s.destroy();
  process.exit(0);
});
