/**
 * Integration, on the real Kafka and QuestDB: a live samples batch held for its watermark holds up
 * no other partition's batch of the same fetch, even with one partition in flight (the held batch
 * gives its work slot back). Before, kafkajs handed the batches one at a time and the others
 * queued behind the held one: 1.5 × the watermark on average (bench/freshness).
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { nowNs } from '../core/clock.js';
import { RECORD_NAMES } from '../schema/records.js';
import { encode } from '../schema/codec.js';
import { toRecords } from '../schema/column-batch.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { pollUntil, testServices, uniqueName } from '../test/services.js';
import { Ingest } from './ingest.js';

const WATERMARK_MS = 15_000;

/** A key of `prefix` that the producer's default partitioner puts on `partition` (of `count`). */
function keyOn(prefix: string, partition: number, count: number): string {
  const pick = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
  for (let i = 0; ; i++) {
    const key = `${prefix}-${i}`;
    if (pick({ topic: 'samples', partitionMetadata, message: { key, value: null } }) === partition) return key;
  }
}

describe('ingest: holding a live batch for the watermark', () => {
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;

  beforeAll(async () => void ({ bus, store, db } = await openKafkaQuestDb()));
  afterAll(() => closeKafkaQuestDb({ bus, store, db }));

  it('writes an old batch of another partition from the same fetch at once, with one partition in flight', async () => {
    await bus.ensureTopics([...RECORD_NAMES, 'dead-letters']);
    const group = uniqueName('hold-group');
    // The group starts at the samples topic's current end, set before both messages are sent, so
    // that its first fetch carries both (a message fetched alone after the held one would wait for
    // it); the other topics it starts at their ends (fromBeginning false).
    const admin = new Kafka({ brokers: testServices().kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets('samples');
    try {
      await admin.setOffsets({ groupId: group, topic: 'samples', partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    } finally {
      await admin.disconnect();
    }
    const count = ends.length;
    expect(count).toBeGreaterThanOrEqual(2);
    // A live batch on partition 0, old ones on every other partition. kafkajs hands a fetch's
    // batches in random order: one at a time (as before), an old one after the live one waited.
    const live = keyOn(uniqueName('hold-live'), 0, count);
    const oldPrefix = uniqueName('hold-old');
    const olds = Array.from({ length: count - 1 }, (_, k) => keyOn(`${oldPrefix}-p${k + 1}`, k + 1, count));
    const t = nowNs();
    const batch = (node: string, ts: bigint) => encode('samples', [0, 1, 2].map((idx) => ({ ts, node, collector: `${node}/c`, seq: 0, idx, source: 'procfs', metric: 'm', value: idx, cpu: idx })));
    const producer = bus.producer();
    await producer.start();
    const sent = Date.now();
    await producer.send('samples', [{ key: live, value: batch(live, t) }, ...olds.map((key) => ({ key, value: batch(key, t - 3_600_000_000_000n) }))]);
    await producer.shutdown();

    const ingest = new Ingest(bus, store, { group, watermarkMs: WATERMARK_MS, partitionsInFlight: 1, fromBeginning: false });
    // When QuestDB acknowledged each node's rows (what the handler controls; QuestDB's own apply of
    // hour-old rows into their partition may take much longer under load).
    const acked = new Map<string, number>();
    const write = store.write.bind(store);
    store.write = (async (name, records) => {
      await write(name, records);
      for (const r of (Array.isArray(records) ? records : toRecords(records)) as { node?: string }[]) if (r.node && !acked.has(r.node)) acked.set(r.node, Date.now() - sent);
    }) as typeof store.write;
    await ingest.start();
    try {
      await pollUntil(async () => olds.filter((k) => acked.has(k)).length, (n) => n === olds.length, WATERMARK_MS + 30_000, 50);
      const oldAfter = Math.max(...olds.map((k) => acked.get(k)!));
      // The old batches were written while the live one was still held (its deadline: sent + the watermark).
      expect({ oldAfter: oldAfter < WATERMARK_MS - 1000, live: acked.get(live) }).toEqual({ oldAfter: true, live: undefined });
      await pollUntil(async () => acked.get(live), (ms) => ms !== undefined, WATERMARK_MS + 30_000, 50);
      expect({ liveAfter: acked.get(live)! >= WATERMARK_MS - 1000, oldAfter }).toEqual({ liveAfter: true, oldAfter });
      const rows = (prefix: string) => db.query({ text: 'SELECT count() n FROM samples WHERE node LIKE $1', values: [`${prefix}%`] }).then((r) => Number(r.rows[0].n));
      await pollUntil(() => rows(`${oldPrefix}-`), (n) => n === 3 * olds.length, 60_000);
      await pollUntil(() => rows(live), (n) => n === 3, 60_000);
    } finally {
      await ingest.shutdown();
    }
  }, 180_000);
});
