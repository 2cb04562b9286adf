/**
 * On the real Kafka: an idle consumer's connections no longer check their (empty) request queues
 * on a 1 ms timer (kafkajs 2.2.4, patched by request-queue-fix.ts), and requests still flow. An
 * idle producer's connections hold no 100 ms request-timeout interval, and a request the broker
 * never answers still times out.
 */
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../test/services.js';
import { KafkaBus } from './kafka-bus.js';
import { fixKafkajsIdleLoop, fixKafkajsTimeoutCheck } from './request-queue-fix.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('kafkajs idle request-queue loop', () => {
  let bus: KafkaBus;
  beforeAll(async () => {
    bus = new KafkaBus({ brokers: testServices().kafka.brokers, partitions: 1 });
    await bus.start();
  });
  afterAll(() => bus.shutdown());

  it('is patched, and an idle consumer checks its queues a few times a second, not a thousand', async () => {
    expect(fixKafkajsIdleLoop()).toBe(true);
    const topic = uniqueName('idle-queue');
    await bus.ensureTopics([topic]);
    const consumer = bus.consumer({ group: uniqueName('idle-queue-group'), topics: [topic], fromBeginning: true });
    const got: string[] = [];
    await consumer.run(async (b) => void got.push(...b.messages.map((m) => m.value.toString())));
    const proto = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js').prototype as { checkPendingRequests: () => void };
    const original = proto.checkPendingRequests;
    let checks = 0;
    proto.checkPendingRequests = function (this: unknown) {
      checks++;
      return original.call(this);
    };
    try {
      const cpu0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 3000));
      const cpu = process.cpuUsage(cpu0);
      // Unpatched: every connection (consumer, coordinator, admin) re-checks each ~1 ms, thousands in 3 s.
      // Patched: only after answers (fetches every 5 s when idle, heartbeats every 3 s).
      expect({ checks: checks < 200 ? 'a few' : checks, cpuMs: (cpu.user + cpu.system) / 1000 }).toMatchObject({ checks: 'a few' });
    } finally {
      proto.checkPendingRequests = original;
    }
    // Requests still go out and come back: a message sent now is consumed.
    const producer = bus.producer();
    await producer.send(topic, [{ key: 'k', value: Buffer.from('after the idle wait') }]);
    await producer.shutdown();
    for (let i = 0; i < 150 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['after the idle wait']);
    await consumer.shutdown();
  }, 60_000);

  it('times requests only while some are in flight: an idle producer holds no interval, an unanswered request still times out', async () => {
    expect(fixKafkajsTimeoutCheck()).toBe(true);
    const topic = uniqueName('idle-timeout');
    await bus.ensureTopics([topic]);
    await new Promise((r) => setTimeout(r, 300));
    const before = timers();
    const producer = bus.directProducer();
    await producer.send(topic, [{ key: 'k', value: Buffer.from('one') }]);
    await new Promise((r) => setTimeout(r, 400)); // an interval of kafkajs' would have fired 4 times by now
    // Unpatched, each broker connection keeps a 100 ms interval from connect to close.
    expect(timers()).toBeLessThanOrEqual(before);
    await producer.send(topic, [{ key: 'k', value: Buffer.from('two') }]); // and sends again after it
    await producer.shutdown();

    // A broker that accepts and never answers: the request fails after requestTimeout, as without the patch.
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], requestTimeout: 400, connectionTimeout: 1000, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
    const t0 = Date.now();
    await expect(admin.connect()).rejects.toThrow(/timed out|timeout/i);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await admin.disconnect().catch(() => undefined);
    for (const s of sockets) s.destroy();
    silent.close();
  }, 60_000);
});
