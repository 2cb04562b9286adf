/**
 * On the real Kafka: ensureTopics resolves only once its topics can be used (every partition with a
 * leader in the metadata), waiting out UNKNOWN_TOPIC_OR_PARTITION, which a broker answers for a
 * while after a create and which kafkajs retries neither in a subscribe nor in a metadata call.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../test/services.js';
import { KafkaBus, topicsReady } from './kafka-bus.js';

describe('KafkaBus.ensureTopics', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = new Kafka({ brokers: testServices().kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('waits for a topic that another client creates meanwhile, instead of failing on UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const topic = uniqueName('ready-later');
    // The bare kafkajs call that ingest's start made: it fails at once for a topic not (yet) there.
    await expect(admin.fetchTopicMetadata({ topics: [topic] })).rejects.toThrow(/does not host this topic-partition/);
    const t0 = Date.now();
    const ready = topicsReady(admin, [topic], 20_000);
    await new Promise((r) => setTimeout(r, 700));
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: 3, replicationFactor: -1 }] });
    await ready;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions).toHaveLength(3);
    expect(topics[0]!.partitions.every((p) => p.leader >= 0)).toBe(true);
  });

  it('gives up after its deadline with a message naming the topics', async () => {
    const topic = uniqueName('never-made');
    const t0 = Date.now();
    await expect(topicsReady(admin, [topic], 1500)).rejects.toThrow(new RegExp(`Kafka topics ${topic} are not usable after waiting 1.5 s for every partition to have a leader: .*does not host this topic-partition`));
    // It kept asking rather than failing at once (withBackoff stops when its next wait would pass the deadline).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('two clients creating the same topics at once both return usable topics', async () => {
    const buses = [0, 1].map(() => new KafkaBus({ brokers: testServices().kafka.brokers, partitions: 2 }));
    try {
      for (let round = 0; round < 5; round++) {
        const names = [uniqueName('race-a'), uniqueName('race-b'), uniqueName('race-c')];
        // One asks for all three, the other for two of them: a create that finds a topic already
        // made by the other client returns without waiting for leaders (kafkajs' createTopics).
        await Promise.all([buses[0]!.ensureTopics(names), buses[1]!.ensureTopics(names.slice(1))]);
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        const seen = topics.map((t) => [t.name, t.partitions.length, t.partitions.every((p) => p.leader >= 0)]).sort();
        expect(seen).toEqual(names.map((n) => [n, 2, true]).sort());
      }
    } finally {
      await Promise.all(buses.map((b) => b.shutdown()));
    }
  });
});
