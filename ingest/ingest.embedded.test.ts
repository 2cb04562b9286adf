/**
 * The embedded path (durable local log → Ingest → DuckDB) with tagging: control records that come
 * after their samples but within the watermark tag them; the batch is neither written nor committed
 * while held; shutdown flushes a held batch instead of dropping it. No servers needed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { nowNs } from '../core/clock.js';
import { encode, encodeV1 } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { Ingest } from './ingest.js';

const S = 1_000_000_000n;
const sample = (seq: number, cpu: number, ts: bigint): RecordInput<'samples'> => ({ ts, node: 'n1', collector: 'n1/procfs', seq, idx: cpu + 1, source: 'procfs', metric: 'cpu.user', value: cpu, cpu });
const run: RecordInput<'runs'> = { ts: 0n, run: 'r1', experiment: 'e', workload: 'w', phase: 'start', nodes: 'n1', node_count: 1, stack: 'linux', background: false, repetition: 1 };
const partition: RecordInput<'partitions'> = { ts: 0n, partition: 'p1', node: 'n1', driver: 'linux-cpuset', action: 'create', cpus: '0-1', mem_mb: 64 };

describe('ingest on the embedded bus and DuckDB: tagging within the watermark', () => {
  let dir: string;
  let bus: EmbeddedBus;
  let store: DuckDbStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isoscope-ingest-'));
    bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    store = new DuckDbStore({ path: join(dir, 'db.duckdb') });
    await store.start();
  });

  afterEach(async () => {
    await store.shutdown();
    await bus.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  const rows = async () => (await store.query("SELECT seq, cpu, run, \"partition\" FROM samples WHERE node = 'n1' ORDER BY seq, cpu")).rows;

  it('holds live samples, uncommitted, until late control records tag them', async () => {
    const ingest = new Ingest(bus, store, { group: 'g', watermarkMs: 1500 });
    await ingest.start();
    const t = nowNs();
    const producer = bus.producer();
    await producer.start();
    await producer.send('samples', [{ key: 'n1', value: encode('samples', [sample(0, 0, t), sample(0, 1, t), sample(0, 2, t)]) }]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await rows()).toEqual([]); // held: not written…
    expect(await ingest.lag()).toBeGreaterThan(0); // …and not committed
    await producer.send('runs', [{ key: 'r1', value: encode('runs', [{ ...run, ts: t - S }]) }]);
    await producer.send('partitions', [{ key: 'n1', value: encode('partitions', [{ ...partition, ts: t - S }]) }]);
    await ingest.waitUntilIdle(200, 50);
    await producer.shutdown();
    await ingest.shutdown();
    expect(await rows()).toEqual([[0, 0, 'r1', 'p1'], [0, 1, 'r1', 'p1'], [0, 2, 'r1', null]]);
    expect((await store.query("SELECT run FROM runs WHERE run = 'r1'")).rows).toEqual([['r1']]);
    expect(ingest.stats.tagged).toBe(3);
  });

  it('writes old samples at once, and control records arriving later leave them untagged', async () => {
    const ingest = new Ingest(bus, store, { group: 'g', watermarkMs: 60_000 });
    await ingest.start();
    const old = nowNs() - 3600n * S;
    const producer = bus.producer();
    await producer.start();
    await producer.send('samples', [{ key: 'n1', value: encode('samples', [sample(7, 0, old)]) }]);
    const started = Date.now();
    await ingest.waitUntilIdle(100, 50);
    expect(Date.now() - started).toBeLessThan(10_000); // far less than the 60 s watermark
    await producer.send('runs', [{ key: 'r1', value: encode('runs', [{ ...run, ts: old - S }]) }]);
    await ingest.waitUntilIdle(100, 50);
    await producer.shutdown();
    await ingest.shutdown();
    expect(await rows()).toEqual([[7, 0, null, null]]);
  });

  it('flushes a held batch on shutdown instead of dropping it', async () => {
    const ingest = new Ingest(bus, store, { group: 'g', watermarkMs: 600_000 });
    await ingest.start();
    const producer = bus.producer();
    await producer.start();
    await producer.send('samples', [{ key: 'n1', value: encode('samples', [sample(1, 0, nowNs())]) }]);
    await producer.shutdown();
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await ingest.shutdown();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await rows()).toEqual([[1, 0, null, null]]);
    expect(ingest.stats.records.samples).toBe(1);
  });

  it('writes each message of a batch when its own watermark passes, not when the newest one does; commits after the last', async () => {
    await bus.ensureTopics(['samples', 'runs', 'partitions', 'dead-letters', 'events', 'alerts']);
    const producer = bus.producer();
    await producer.start();
    const now = nowNs();
    // One send = one batch: an old message (watermark long past) before a live one (20 s to go).
    await producer.send('samples', [
      { key: 'n1', value: encode('samples', [sample(3, 0, now - 3600n * S)]) },
      { key: 'n1', value: encode('samples', [sample(4, 0, now)]) },
    ]);
    const ingest = new Ingest(bus, store, { group: 'g', watermarkMs: 20_000 });
    await ingest.start();
    const deadline = Date.now() + 10_000;
    while ((await rows()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await rows()).toEqual([[3, 0, null, null]]); // the old one is written…
    expect(await ingest.lag()).toBe(2); // …and the batch is not committed while the live one waits
    await producer.shutdown();
    await ingest.shutdown(); // flushes the held message
    expect(await rows()).toEqual([[3, 0, null, null], [4, 0, null, null]]);
    expect(ingest.stats.records.samples).toBe(2);
  });

  it('writes one batch mixing a v2 message (by column), a v1 message and a v2 message with a bad sample, tags them all, and dead-letters the bad sample with its reason', async () => {
    await bus.ensureTopics(['samples', 'runs', 'partitions', 'dead-letters', 'events', 'alerts']);
    const producer = bus.producer();
    await producer.start();
    const old = nowNs() - 3600n * S;
    await producer.send('runs', [{ key: 'r1', value: encode('runs', [{ ...run, ts: old - S }]) }]);
    await producer.send('partitions', [{ key: 'n1', value: encode('partitions', [{ ...partition, ts: old - S }]) }]);
    const bad = { ...sample(12, 1, old), value: 'high' as unknown as number };
    await producer.send('samples', [
      { key: 'n1', value: encode('samples', [sample(10, 0, old), sample(10, 1, old), sample(10, 2, old)]) },
      { key: 'n1', value: encodeV1('samples', [sample(11, 0, old), sample(11, 1, old)]) },
      { key: 'n1', value: encode('samples', [sample(12, 0, old), bad, sample(12, 2, old)]) },
    ]);
    const letters: { reason: string | undefined }[] = [];
    const reader = bus.consumer({ group: 'dlq', topics: ['dead-letters'] });
    await reader.run(async (b) => void letters.push(...b.messages.map((m) => ({ reason: m.headers?.['isoscope-reason'] }))));
    const ingest = new Ingest(bus, store, { group: 'g', watermarkMs: 1000 });
    await ingest.start();
    await ingest.waitUntilIdle(200, 50);
    const deadline = Date.now() + 10_000;
    while (letters.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await reader.shutdown();
    await producer.shutdown();
    await ingest.shutdown();
    expect(await rows()).toEqual([
      [10, 0, 'r1', 'p1'], [10, 1, 'r1', 'p1'], [10, 2, 'r1', null],
      [11, 0, 'r1', 'p1'], [11, 1, 'r1', 'p1'],
      [12, 0, 'r1', 'p1'], [12, 2, 'r1', null],
    ]);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/^records\[1\]\.value: /);
    expect(ingest.stats.records.samples).toBe(7);
    expect(ingest.stats.tagged).toBe(7);
    expect(ingest.stats.seqGaps).toBe(0);
  });
  it('waits out a bus that cannot say its lag for a while (a restarting broker) instead of stopping', async () => {
    const ingest = new Ingest(bus, store, { group: 'g-lag' });
    await ingest.start();
    const producer = bus.producer();
    await producer.start();
    await producer.send('samples', [{ key: 'n1', value: encode('samples', [sample(0, 0, nowNs())]) }]);
    await producer.shutdown();
    // The first lag questions fail as Kafka's do while a broker restarts.
    const lag = ingest.lag.bind(ingest);
    let failures = 0;
    ingest.lag = () => (failures++ < 4 ? Promise.reject(new Error('This server does not host this topic-partition')) : lag());
    await ingest.waitUntilIdle(100, 20);
    await ingest.shutdown();
    expect(failures).toBeGreaterThan(4);
    expect(await rows()).toEqual([[0, 0, null, null]]);
  });
});
