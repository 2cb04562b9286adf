/**
 * On the real Kafka: an idle consumer's connections no longer check their (empty) request queues
 * on a 1 ms timer (kafkajs 2.2.4, patched by request-queue-fix.ts), and requests still flow.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../test/services.js';
import { KafkaBus } from './kafka-bus.js';
import { fixKafkajsIdleLoop } from './request-queue-fix.js';

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
});
