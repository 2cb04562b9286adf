/**
 * The no-loss rule on a real broker: a collector at 100 Hz keeps running while its Kafka is stopped
 * for 30 s and started again; every batch sequence number arrives exactly once, in order, the
 * backlog several batches per Kafka request.
 * Uses a Kafka of its own (the suite's shared one must stay up for the other tests).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BusProducer } from '../../bus/bus.js';
import { KafkaBus } from '../../bus/kafka/kafka-bus.js';
import { decode } from '../../schema/codec.js';
import { probeKafka, startKafka } from '../../services/kafka.js';
import { ensureArtifacts } from '../../services/maven.js';
import { freePorts } from '../../services/ports.js';
import { findJava, stopProcessGroup, type SpawnedService } from '../../services/process.js';
import { pollUntil } from '../../test/services.js';
import { CollectorAgent } from '../agent.js';
import { SequenceFile } from '../sequence.js';
import type { Source } from '../source.js';
import { SpoolDir } from './spool-dir.js';
import { SpoolingProducer } from './spooling-producer.js';

const counter: Source = { name: 'test', start: async () => {}, shutdown: async () => {}, read: async () => [{ metric: 'tick', value: 1 }] };

describe('collector spool with a real Kafka outage', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('loses nothing and repeats nothing across 30 s without Kafka at 100 Hz', { timeout: 240_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'isoscope-outage-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { bin: java } = await findJava();
    const { kafkaLibDir } = await ensureArtifacts();
    const [port, controllerPort] = await freePorts(2);
    const broker = `127.0.0.1:${port}`;
    let kafka: SpawnedService = await startKafka({ java, libDir: kafkaLibDir, stateDir: dir, port: port!, controllerPort: controllerPort! });
    cleanup.push(() => stopProcessGroup(kafka.pid, 5000).then(() => undefined));
    expect(await pollUntil(() => probeKafka(broker), Boolean, 60_000, 250)).toBe(true);

    const bus = new KafkaBus({ brokers: [broker], partitions: 1 });
    await bus.start();
    await bus.ensureTopics(['samples']);
    const kafkaProducer = bus.directProducer(); // the collector sink's producer (collectors/sink.ts)
    const requests: number[] = []; // batches per Kafka request
    const counted: BusProducer = {
      start: () => kafkaProducer.start(),
      shutdown: (ms) => kafkaProducer.shutdown(ms),
      send: (topic, messages) => (requests.push(messages.length), kafkaProducer.send(topic, messages)),
    };
    const producer = new SpoolingProducer(counted, new SpoolDir(join(dir, 'spool'), 1 << 30));
    await producer.start();
    const agent = new CollectorAgent({
      node: 'outage', collectorId: 'outage/test', sources: [counter], intervalMs: 10, producer,
      sequence: SequenceFile.forCollector(join(dir, 'collector'), 'outage/test'),
    });
    await agent.start();
    await new Promise((r) => setTimeout(r, 3000));
    await stopProcessGroup(kafka.pid, 20_000);
    await new Promise((r) => setTimeout(r, 30_000));
    expect(producer.spool.stats.batches).toBeGreaterThan(1000); // 30 s at 100 Hz waited on disk
    kafka = await startKafka({ java, libDir: kafkaLibDir, stateDir: dir, port: port!, controllerPort: controllerPort! });
    expect(await pollUntil(() => probeKafka(broker), Boolean, 90_000, 250)).toBe(true);
    await new Promise((r) => setTimeout(r, 2000));
    await agent.shutdown(2000);
    await pollUntil(async () => producer.spool.stats.batches, (n) => n === 0, 90_000, 100);
    await producer.shutdown(5000);
    const produced = agent.stats.lastSeq! + 1;
    expect(agent.stats.dropped + producer.spool.stats.droppedBatches).toBe(0);

    const seqs: number[] = [];
    const consumer = bus.consumer({ group: 'outage-check', topics: ['samples'] });
    await consumer.run(async (b) => {
      for (const m of b.messages) seqs.push(...new Set(decode(m.value, 'samples').records.map((r) => r.seq)));
    });
    await pollUntil(async () => seqs.length, (n) => n >= produced, 60_000, 100);
    await consumer.shutdown();
    await bus.shutdown();
    expect(produced).toBeGreaterThan(3000);
    expect(seqs).toEqual(Array.from({ length: produced }, (_, i) => i)); // each once, in order
    expect(Math.max(...requests)).toBeGreaterThan(100); // the backlog went out many batches per request
    expect(requests.length).toBeLessThan(produced);
  });
});
