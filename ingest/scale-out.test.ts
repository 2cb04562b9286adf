/**
 * Scale-out: two ingest instances in one consumer group share a 4-partition samples topic, on a
 * Kafka + QuestDB pair of this file's own (topics created with 4 partitions, and no other work's
 * history to read). (1) Once the group is stable each instance owns two partitions, each handles
 * only its own, and every sample lands exactly once. (2) One instance leaves mid-stream: the group
 * rebalances, the other takes over its partitions from their committed offsets, and still every
 * sample lands exactly once (a batch written but not committed before the hand-over is delivered
 * again and overwrites itself). What QuestDB holds is checked per collector: count, distinct
 * values, sum, min and max, as in the fault tests.
 */
import { AssignerProtocol, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { encode } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { pollUntil } from '../test/services.js';
import { checkCollectors, startFaultServices, type CollectorCheck, type FaultServices } from './faults/testing.js';
import { Ingest } from './ingest.js';

const PARTITIONS = 4;
const PER_BATCH = 500;
const GROUP = 'scale-out';
/** Two collectors per partition: nodes whose keys the producer's partitioner puts on each of the four. */
const NODES = (() => {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  const per = new Map<number, string[]>();
  for (let i = 0; [...per.values()].flat().length < 2 * PARTITIONS; i++) {
    const node = `so-n${i}`;
    const p = partitioner({ topic: 'samples', partitionMetadata, message: { key: node, value: null } });
    const list = per.get(p) ?? [];
    if (list.length < 2) per.set(p, [...list, node]);
  }
  return [...per.values()].flat();
})();

let svc: FaultServices;
let producerBus: KafkaBus;
let kafka: Kafka;
/** Samples produced so far per collector (values 0..n-1, as loadgen's collectors). */
const produced = new Map<string, number>();

interface Member {
  name: string;
  bus: KafkaBus;
  store: QuestDbStore;
  ingest: Ingest;
}
const members: Member[] = [];

async function member(name: string): Promise<Member> {
  const bus = new KafkaBus({ brokers: svc.state.kafka.brokers, partitions: PARTITIONS, clientId: name });
  await bus.start();
  const store = new QuestDbStore({ http: svc.state.questdb.http, pg: svc.state.questdb.pg });
  await store.start();
  const ingest = new Ingest(bus, store, { group: GROUP, topics: ['samples'], watermarkMs: 0, partitionsInFlight: 2 });
  await ingest.start();
  const m = { name, bus, store, ingest };
  members.push(m);
  return m;
}

async function leave(m: Member): Promise<void> {
  await m.ingest.shutdown();
  await m.store.shutdown();
  await m.bus.shutdown();
  members.splice(members.indexOf(m), 1);
}

/** `batches` more batches for every collector, values continuing where the last call stopped. */
async function produce(batches: number): Promise<void> {
  const producer = producerBus.producer();
  const t0 = (BigInt(Date.now()) - 60_000n) * 1_000_000n;
  for (let b = 0; b < batches; b++) {
    const messages = NODES.map((node) => {
      const collector = `${node}/loadgen`;
      const from = produced.get(collector) ?? 0;
      const seq = from / PER_BATCH;
      produced.set(collector, from + PER_BATCH);
      const records: RecordInput<'samples'>[] = Array.from({ length: PER_BATCH }, (_, idx) => {
        const value = from + idx;
        return { ts: t0 + BigInt(seq) * 1_000_000n, node, collector, seq, idx, source: 'loadgen', metric: `loadgen_${value % 8}`, value, cpu: value % 4 };
      });
      return { key: node, value: encode('samples', records) };
    });
    await producer.send('samples', messages);
  }
  await producer.shutdown();
}

/** What every collector must hold: each value 0..n-1 exactly once, consistent columns. */
function expected(): CollectorCheck[] {
  return [...produced].map(([collector, n]) => ({ collector, rows: n, distinctValues: n, sum: (n * (n - 1)) / 2, min: 0, max: n - 1, inconsistent: 0 }));
}

async function exact(deadlineMs = 90_000): Promise<void> {
  const want = expected();
  const got = await pollUntil(
    () => svc.withDb((db) => checkCollectors(db, want.map((c) => c.collector))).catch(() => []),
    (checks) => JSON.stringify(checks) === JSON.stringify(want),
    deadlineMs,
    500,
  );
  expect(got).toEqual(want);
}

/** The samples partitions each member of the group is assigned, as the group coordinator tells. */
async function assignment(): Promise<Map<string, number[]>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([GROUP])).groups;
    const out = new Map<string, number[]>();
    if (group?.state !== 'Stable') return out;
    for (const m of group.members) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      out.set(m.clientId, [...(a?.assignment.samples ?? [])].sort());
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Partitions whose batches an instance has committed (its committed-offset gauge's series). */
async function handled(m: Member): Promise<number[]> {
  const metric = await m.ingest.metrics.committedOffset.get();
  return metric.values.filter((v) => v.labels.topic === 'samples').map((v) => Number(v.labels.partition)).sort();
}

async function committedEnds(): Promise<{ committed: number[]; ends: number[] }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [c] = await admin.fetchOffsets({ groupId: GROUP, topics: ['samples'] });
    const ends = await admin.fetchTopicOffsets('samples');
    const by = (p: { partition: number }, q: { partition: number }) => p.partition - q.partition;
    return { committed: c!.partitions.sort(by).map((p) => Number(p.offset)), ends: ends.sort(by).map((e) => Number(e.high)) };
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  svc = await startFaultServices();
  kafka = new Kafka({ brokers: svc.state.kafka.brokers, logLevel: logLevel.NOTHING });
  producerBus = new KafkaBus({ brokers: svc.state.kafka.brokers, partitions: PARTITIONS });
  await producerBus.start();
  // The store's tables before anything writes (DEDUP keys).
  const ddl = new QuestDbStore({ http: svc.state.questdb.http, pg: svc.state.questdb.pg });
  await ddl.start();
  await ddl.shutdown();
}, 180_000);

afterAll(async () => {
  for (const m of [...members]) await leave(m).catch(() => undefined);
  await producerBus?.shutdown();
  await svc?.close();
}, 60_000);

describe('two ingest instances in one consumer group (own Kafka + QuestDB, 4 partitions)', () => {
  it('split the partitions two and two, each handles only its own, and every sample lands exactly once', async () => {
    const [a, b] = await Promise.all([member('ingest-a'), member('ingest-b')]);
    const split = await pollUntil(assignment, (m) => m.size === 2 && [...m.values()].every((p) => p.length === PARTITIONS / 2), 60_000, 500);
    expect([...split.values()].flat().sort()).toEqual([0, 1, 2, 3]);

    await produce(20); // 8 collectors × 20 batches × 500 = 80,000 samples
    const ends = (await committedEnds()).ends;
    expect(ends.every((e) => e > 0), `the collectors' keys must cover all ${PARTITIONS} partitions (ends ${ends.join(', ')})`).toBe(true);
    await exact();
    await pollUntil(committedEnds, (o) => JSON.stringify(o.committed) === JSON.stringify(o.ends), 30_000, 250);

    const [byA, byB] = [await handled(a!), await handled(b!)];
    expect(byA).toEqual(split.get('ingest-a'));
    expect(byB).toEqual(split.get('ingest-b'));
    expect(a!.ingest.stats.records.samples + b!.ingest.stats.records.samples).toBe(80_000);
    expect(a!.ingest.stats.records.samples).toBeGreaterThan(0);
    expect(b!.ingest.stats.records.samples).toBeGreaterThan(0);
  }, 240_000);

  it('one instance leaves mid-stream: the other takes over its partitions, every sample still exactly once', async () => {
    const [a, b] = members as [Member, Member];
    const before = b.ingest.stats.records.samples;
    const producing = produce(40); // 160,000 more samples
    // Leave while the group still has work: after b has written some of the new samples.
    await pollUntil(async () => b.ingest.stats.records.samples, (n) => n > before, 60_000, 100);
    await leave(a);
    await producing;
    await pollUntil(assignment, (m) => m.size === 1 && m.get('ingest-b')?.length === PARTITIONS, 60_000, 500);
    await exact(120_000);
    const offsets = await pollUntil(committedEnds, (o) => JSON.stringify(o.committed) === JSON.stringify(o.ends), 60_000, 250);
    expect(offsets.committed).toEqual(offsets.ends);
    expect(await handled(b)).toEqual([0, 1, 2, 3]);
  }, 300_000);
});
