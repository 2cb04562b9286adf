/**
 * The collectors' own-request producer on the real Kafka: messages land as kafkajs' producer puts
 * them (same partition per key, same keys, values and headers, same order), a request sent again
 * with the same sequence is not written twice (the batches carry a real producer id and sequence),
 * and a broker that refuses the sequence gets a new producer id and the batch once. Its broker
 * restart case is collectors/spool/kafka-outage.test.ts (the collector's sink uses this producer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage, DeliveredMessage } from '../bus.js';
import { testServices, uniqueName } from '../../test/services.js';
import { DirectProducer } from './direct-producer.js';
import { KafkaBus } from './kafka-bus.js';

let bus: KafkaBus;
beforeAll(async () => {
  bus = new KafkaBus({ brokers: testServices().kafka.brokers, partitions: 6 });
  await bus.start();
});
afterAll(() => bus.shutdown());

/** Every message of `topic`, per partition in offset order, once `count` arrived. */
async function consumeAll(topic: string, count: number): Promise<Map<number, DeliveredMessage[]>> {
  const got = new Map<number, DeliveredMessage[]>();
  let n = 0;
  const consumer = bus.consumer({ group: uniqueName('direct-producer'), topics: [topic], fromBeginning: true });
  await consumer.run(async (b) => {
    const list = got.get(b.partition) ?? [];
    got.set(b.partition, list);
    for (const m of b.messages) (list.push(m), n++);
  });
  const deadline = Date.now() + 30_000;
  while (n < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive meanwhile
  await consumer.shutdown();
  return got;
}

const view = (ms: DeliveredMessage[] | undefined) => (ms ?? []).map((m) => ({ key: m.key, value: m.value.toString('base64'), headers: m.headers ?? {} }));

describe('DirectProducer on the real Kafka', () => {
  it('puts messages where kafkajs puts them: same partition per key, same contents, same order', async () => {
    const ours = uniqueName('direct-ours');
    const theirs = uniqueName('direct-kafkajs');
    await bus.ensureTopics([ours, theirs]);
    const sends: BusMessage[][] = Array.from({ length: 6 }, (_, s) =>
      Array.from({ length: 1 + ((s * 7) % 13) }, (_, i) => ({
        key: i % 4 === 3 ? null : `node-${(s + i) % 5}`,
        value: Buffer.from(`send ${s} message ${i} `.repeat(1 + i * 30)),
        ...(i % 3 === 0 ? { headers: { seq: String(s * 100 + i), 'x-ü': 'v' } } : {}),
      })),
    );
    const direct = bus.directProducer();
    const kafkajsProducer = bus.producer();
    for (const messages of sends) {
      // Null keys are spread by kafkajs at random: those go alone, so both producers' order per partition is comparable.
      await direct.send(ours, messages.filter((m) => m.key !== null));
      await kafkajsProducer.send(theirs, messages.filter((m) => m.key !== null));
    }
    const nullKeyed = sends.flat().filter((m) => m.key === null);
    await direct.send(ours, nullKeyed);
    const total = sends.flat().length;
    const [a, b] = await Promise.all([consumeAll(ours, total), consumeAll(theirs, total - nullKeyed.length)]);
    for (let p = 0; p < 6; p++) {
      expect(view(a.get(p)).filter((m) => m.key !== null), `partition ${p}`).toEqual(view(b.get(p)));
    }
    const nulls = [...a.values()].flat().filter((m) => m.key === null).map((m) => m.value.toString());
    expect(nulls.sort()).toEqual(nullKeyed.map((m) => m.value.toString()).sort());
  });

  it('is idempotent: the same batch sent again with its sequence lands once; a refused sequence gets a new producer id', async () => {
    const topic = uniqueName('direct-idempotent');
    await bus.ensureTopics([topic]);
    const producer = bus.directProducer() as DirectProducer;
    // The producer's private state, to replay what a lost answer or a lost broker state leads to.
    const state = producer as unknown as { sequences: Map<string, number>; producerId: bigint };
    const one = (i: number): BusMessage[] => [{ key: 'node-a', value: Buffer.from(`batch ${i}`) }];
    await producer.send(topic, one(0));
    await producer.send(topic, one(1));
    const [key, next] = [...state.sequences].find(([k]) => k.startsWith(`${topic}:`))!;
    expect(next).toBe(2);
    expect(state.producerId).toBeGreaterThanOrEqual(0n);
    // The answer to batch 1 was lost: the retry goes with the same sequence, and the broker drops the copy.
    state.sequences.set(key, 1);
    await producer.send(topic, one(1));
    expect(state.sequences.get(key)).toBe(2);
    // The broker lost this producer's state (its sequence is ahead of what it knows): a new id, then the batch once.
    const firstId = state.producerId;
    state.sequences.set(key, 7);
    await producer.send(topic, one(2));
    expect(state.producerId).not.toBe(firstId);
    expect(state.sequences.get(key)).toBe(1);
    await producer.send(topic, one(3));
    const got = await consumeAll(topic, 4);
    expect([...got.values()].flat().map((m) => m.value.toString())).toEqual(['batch 0', 'batch 1', 'batch 2', 'batch 3']);
  });
});
