/**
 * `--sink http` end to end on real sockets: a collector posts batches (through its disk spool) to a
 * running isoscope's `POST /api/bus/:topic`, which appends them to its embedded bus; ingest writes them
 * to DuckDB. The receiver refuses unauthenticated, unknown and invalid batches.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorAgent } from '../../collectors/agent.js';
import { SequenceFile } from '../../collectors/sequence.js';
import type { Source } from '../../collectors/source.js';
import { SpoolDir } from '../../collectors/spool/spool-dir.js';
import { SpoolingProducer } from '../../collectors/spool/spooling-producer.js';
import { Ingest } from '../../ingest/ingest.js';
import { createQueryApp } from '../../query/app.js';
import { QueryServer } from '../../query/server.js';
import { encode } from '../../schema/codec.js';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { pollUntil } from '../../test/services.js';
import { EmbeddedBus } from '../embedded/embedded-bus.js';
import { HttpProducer } from './http-producer.js';

const TOKEN = 'http-sink-test-token-0123456789';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const ticker: Source = { name: 'test', start: async () => {}, shutdown: async () => {}, read: async () => [{ metric: 'tick', value: 2.5, cpu: 0 }] };

describe('http sink → isoscope up', () => {
  it('delivers every batch once into the receiver’s store, and refuses what it must', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-http-'));
    dirs.push(dir);
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    const store = new DuckDbStore({ path: join(dir, 'db.duckdb') });
    await bus.start();
    await store.start();
    const busProducer = bus.producer();
    await busProducer.start();
    const app = createQueryApp({ store, token: TOKEN, busProducer });
    const server = new QueryServer(app, '127.0.0.1:0');
    await server.start();
    const ingest = new Ingest(bus, store, { group: 'ingest' });
    await ingest.start();

    // The boundary: token, topic and content are checked before anything is appended.
    const body = encode('samples', [{ ts: 1n, node: 'n', collector: 'c', seq: 0, idx: 0, source: 's', metric: 'm', value: 1 }]);
    const post = (path: string, b: Uint8Array | string, auth = true) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: auth ? { authorization: `Bearer ${TOKEN}` } : {}, body: b as BodyInit });
    expect((await post('/api/bus/samples', new Uint8Array(body), false)).status).toBe(401);
    expect((await post('/api/bus/metrics', new Uint8Array(body))).status).toBe(404);
    const bad = await post('/api/bus/samples', '{"v":1,"type":"samples","records":[{"ts":"1"}]}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/records\[0\]\.node/);

    const producer = new SpoolingProducer(new HttpProducer({ url: server.url, token: TOKEN }), new SpoolDir(join(dir, 'spool'), 1 << 24));
    await producer.start();
    const agent = new CollectorAgent({
      node: 'remote-node', collectorId: 'remote-node/test', sources: [ticker], intervalMs: 20, producer,
      sequence: SequenceFile.forCollector(join(dir, 'collector'), 'remote-node/test'), maxBatches: 20,
    });
    await agent.start();
    await agent.done;
    await agent.shutdown();
    await producer.shutdown();
    const rows = await pollUntil(
      async () => (await store.query("SELECT seq, value FROM samples WHERE node = 'remote-node' ORDER BY seq")).rows,
      (r) => r.length >= 20,
      20_000,
      50,
    );
    expect(rows).toEqual(Array.from({ length: 20 }, (_, seq) => [seq, 2.5]));

    await ingest.shutdown();
    await server.shutdown();
    await busProducer.shutdown();
    await store.shutdown();
    await bus.shutdown();
  });
});
