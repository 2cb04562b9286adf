/**
 * The evaluator on the real Kafka of the test services: its own consumer group on the shared
 * `samples` topic (starting at the end), the run from `runs`, a signed webhook to a local receiver
 * and the `alerts` record on Kafka. Samples are hand-made on a node name of its own, so other tests
 * sharing the topics neither disturb nor see anything of it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { decode, encode } from '../schema/codec.js';
import type { AlertRecord } from '../schema/records.js';
import { pollUntil, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import type { WebhookBody } from './delivery/payload.js';
import { verify } from './delivery/sign.js';
import { startReceiver } from './delivery/testing.js';
import { Evaluator } from './evaluator.js';
import { parseRules } from './rules/load.js';

const tempDir = tempDirs('isoscope-alerts-kafka-');
const SECRET = 'kafka-test-secret-0123456789';

describe('alerts evaluator on Kafka', () => {
  it('fires from the live samples topic, delivers and records the alert on Kafka', async () => {
    const s = testServices();
    const bus = new KafkaBus({ brokers: s.kafka.brokers, partitions: 1 });
    await bus.start();
    const receiver = await startReceiver();
    const node = uniqueName('kafka-alerts-node');
    const run = uniqueName('kafka-run');
    const rules = parseRules(`
receivers: [{ name: local, url: "${receiver.url}", secret: ${SECRET}, allowPrivate: true }]
rules:
  - { name: hot, metric: temperature, scope: { node: ${node}, by: [node, run] }, detector: { kind: threshold, op: ">", value: 90 }, receivers: [local] }
`, 'kafka-rules.yaml');
    const evaluator = new Evaluator(bus, { rules, outboxDir: join(tempDir(), 'outbox'), seriesBaseUrl: 'http://hub:7410', node, store: null, group: uniqueName('alerts') });
    const producer = bus.producer();
    try {
      await evaluator.start();
      await producer.start();
      await producer.send('runs', [{ key: run, value: encode('runs', [{ ts: BigInt(Date.now()) * 1_000_000n, run, experiment: 'kafka-alerts', workload: 'w', phase: 'start', nodes: node, node_count: 1, stack: 'linux', background: true, repetition: 1 }]) }]);
      await pollUntil(async () => evaluator.index.runAt(node, BigInt(Date.now()) * 1_000_000n), (r) => r === run, 30_000, 100);
      // The group starts at the end of the topic once it has its partitions: send until it fires.
      let seq = 0;
      await pollUntil(async () => {
        await producer.send('samples', [{ key: node, value: encode('samples', [{ ts: BigInt(Date.now()) * 1_000_000n, node, collector: `${node}/t`, seq: seq++, idx: 0, source: 'test', metric: 'temperature', value: 95, cpu: -1 }]) }]);
        return receiver.received.length;
      }, (n) => n >= 1, 60_000, 250);
      const got = receiver.received[0]!;
      expect(verify(SECRET, got.body, got.headers['x-isoscope-signature'] as string)).toBe(true);
      expect(JSON.parse(got.body) as WebhookBody).toMatchObject({ status: 'firing', run, node, alerts: [{ labels: { alertname: 'hot', node, run } }] });
      // The alerts record is on Kafka (ingest writes it to the store).
      const reader = bus.consumer({ group: uniqueName('alerts-reader'), topics: ['alerts'], fromBeginning: true });
      const mine: AlertRecord[] = [];
      await reader.run(async (b) => { for (const m of b.messages) mine.push(...decode(m.value, 'alerts').records.filter((r) => r.run === run)); });
      await pollUntil(async () => mine.length, (n) => n >= 1, 60_000, 100);
      await reader.shutdown();
      expect(mine[0]).toMatchObject({ rule: 'hot', state: 'firing', node, run, value: 95 });
    } finally {
      await producer.shutdown();
      await evaluator.shutdown(5000);
      await receiver.close();
      await bus.shutdown();
    }
  });
});
