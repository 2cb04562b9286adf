/**
 * The conformance suite every Bus implementation runs (Hono's `*.case.test.ts` idea): call
 * `busConformance(label, makeBus)` from the implementation's test file. It uses only the Bus
 * interface, unique topic and group names per test, and polls with deadlines generous enough for a
 * real Kafka broker (consumer-group rebalances take seconds), never fixed sleeps.
 */
import { describe, expect, it } from 'vitest';
import type { Bus, BusConsumer, BusMessage, DeliveredBatch, DeliveredMessage } from './bus.js';

/** A fresh, not yet started bus and how to dispose of what it left behind. */
export type MakeBus = () => Promise<{ bus: Bus; cleanup: () => Promise<void> }>;

const DEADLINE_MS = 60_000;
const TEST_TIMEOUT_MS = 180_000;

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** Polls `check` until it holds; fails naming `what` after the deadline. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, deadlineMs = DEADLINE_MS): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `consumer`, recording what it is handed; `behaviour` may delay or fail a batch. */
async function collect(consumer: BusConsumer, behaviour?: (batch: DeliveredBatch) => Promise<void>) {
  const seen = { messages: [] as DeliveredMessage[], calls: 0 };
  await consumer.run(async (batch) => {
    seen.calls++;
    await behaviour?.(batch);
    seen.messages.push(...batch.messages);
  });
  return seen;
}

function messages(prefix: string, n: number): BusMessage[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i % 3}`, value: Buffer.from(`${prefix}-${i}`), headers: { index: String(i), kind: 'conformance' } }));
}

const valuesOf = (ms: BusMessage[]) => ms.map((m) => m.value.toString());

/**
 * Defines the tests every Bus must pass. `makeBus` returns a bus that is not started yet (the
 * suite starts it, except where it checks that shutdown is safe without start).
 */
export function busConformance(label: string, makeBus: MakeBus): void {
  async function withBus(fn: (bus: Bus) => Promise<void>): Promise<void> {
    const { bus, cleanup } = await makeBus();
    try {
      await bus.start();
      await fn(bus);
    } finally {
      await bus.shutdown().catch(() => undefined);
      await cleanup();
    }
  }

  describe(label, () => {
    it('ensureTopics is idempotent and the topics are usable', () =>
      withBus(async (bus) => {
        const [a, b] = [unique('conf-topic-a'), unique('conf-topic-b')];
        await bus.ensureTopics([a]);
        await bus.ensureTopics([a]);
        await bus.ensureTopics([a, b]);
        const producer = bus.producer();
        await producer.send(a, [{ key: 'k', value: Buffer.from('to-a') }]);
        await producer.send(b, [{ key: 'k', value: Buffer.from('to-b') }]);
        const consumer = bus.consumer({ group: unique('conf-group'), topics: [a, b] });
        const seen = await collect(consumer);
        await eventually('both messages are delivered', () => seen.messages.length >= 2);
        expect(seen.messages.map((m) => `${m.topic === a ? 'a' : 'b'}:${m.value.toString()}`).sort()).toEqual(['a:to-a', 'b:to-b']);
        await consumer.shutdown();
        await producer.shutdown();
      }), TEST_TIMEOUT_MS);

    it('delivers what was sent, in order per key, with keys, headers and values intact', () =>
      withBus(async (bus) => {
        const topic = unique('conf-order');
        await bus.ensureTopics([topic]);
        const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const sent: BusMessage[] = [
          ...messages('m', 30),
          { key: 'bin', value: binary, headers: { 'content-type': 'application/octet-stream', 'unicode-é': 'välue ✓' } },
          { key: null, value: Buffer.alloc(0) },
        ];
        const before = Date.now();
        const producer = bus.producer();
        await producer.send(topic, sent.slice(0, 10));
        await producer.send(topic, sent.slice(10));
        const consumer = bus.consumer({ group: unique('conf-group'), topics: [topic] });
        const seen = await collect(consumer);
        await eventually(`all ${sent.length} messages are delivered`, () => seen.messages.length >= sent.length);
        expect(seen.messages).toHaveLength(sent.length);
        for (const key of new Set(sent.map((m) => m.key))) {
          const got = seen.messages.filter((m) => m.key === key);
          const want = sent.filter((m) => m.key === key);
          expect(got.map((m) => m.value.toString('hex')), `order for key ${key}`).toEqual(want.map((m) => m.value.toString('hex')));
          got.forEach((m, i) => expect(m.headers ?? {}, `headers of message ${i} with key ${key}`).toEqual(want[i]!.headers ?? {}));
        }
        for (const m of seen.messages) {
          expect(m.topic).toBe(topic);
          expect(m.offset).toMatch(/^\d+$/);
          expect(m.timestampMs).toBeGreaterThanOrEqual(before - 60_000);
          expect(m.timestampMs).toBeLessThanOrEqual(Date.now() + 60_000);
        }
        for (const partition of new Set(seen.messages.map((m) => m.partition))) {
          const offsets = seen.messages.filter((m) => m.partition === partition).map((m) => BigInt(m.offset));
          expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!), 'offsets increase within a partition').toBe(true);
        }
        await consumer.shutdown();
      }), TEST_TIMEOUT_MS);

    it('commits a batch only after its handler resolved: a failing handler leaves the batch to the next consumer of the group', () =>
      withBus(async (bus) => {
        const topic = unique('conf-fail');
        const group = unique('conf-group');
        await bus.ensureTopics([topic]);
        const sent = messages('f', 5);
        await bus.producer().send(topic, sent);
        const failing = bus.consumer({ group, topics: [topic] });
        const attempts = await collect(failing, async () => {
          throw new Error('the handler fails on purpose (conformance test)');
        });
        await expect(failing.stopped()).rejects.toBeTruthy();
        expect(attempts.calls).toBeGreaterThan(0);
        expect(attempts.messages).toHaveLength(0);
        expect(await failing.lag()).toBe(sent.length);
        await failing.shutdown();

        const next = bus.consumer({ group, topics: [topic] });
        const seen = await collect(next);
        await eventually('the next consumer of the group received every message', () => seen.messages.length >= sent.length);
        expect(new Set(valuesOf(seen.messages))).toEqual(new Set(valuesOf(sent)));
        await eventually('the group has no lag', async () => (await next.lag()) === 0);
        await next.shutdown();
      }), TEST_TIMEOUT_MS);

    it('a consumer restarted in the same group resumes after the last committed batch', () =>
      withBus(async (bus) => {
        const topic = unique('conf-resume');
        const group = unique('conf-group');
        await bus.ensureTopics([topic]);
        const producer = bus.producer();
        await producer.send(topic, messages('first', 10));
        const first = bus.consumer({ group, topics: [topic] });
        const seenFirst = await collect(first);
        await eventually('the first consumer received and committed 10 messages', async () => seenFirst.messages.length >= 10 && (await first.lag()) === 0);
        await first.shutdown();
        await first.shutdown(); // idempotent
        await expect(first.stopped()).resolves.toBeUndefined();

        await producer.send(topic, messages('second', 5));
        const second = bus.consumer({ group, topics: [topic] });
        const seenSecond = await collect(second);
        await eventually('the restarted consumer received the 5 new messages', async () => seenSecond.messages.length >= 5 && (await second.lag()) === 0);
        expect(valuesOf(seenSecond.messages).sort()).toEqual(valuesOf(messages('second', 5)).sort());
        await second.shutdown();
      }), TEST_TIMEOUT_MS);

    it('lag is above zero until the handler resolved and reaches zero after consumption', () =>
      withBus(async (bus) => {
        const topic = unique('conf-lag');
        await bus.ensureTopics([topic]);
        await bus.producer().send(topic, messages('l', 7));
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const consumer = bus.consumer({ group: unique('conf-group'), topics: [topic] });
        const seen = await collect(consumer, () => gate);
        await eventually('the handler was called', () => seen.calls > 0);
        expect(await consumer.lag()).toBeGreaterThan(0);
        const perPartition = await consumer.partitionLag();
        expect(perPartition.every((p) => p.topic === topic && Number.isInteger(p.partition) && p.lag >= 0)).toBe(true);
        expect(perPartition.reduce((sum, p) => sum + p.lag, 0)).toBe(await consumer.lag());
        release();
        await eventually('all 7 messages are consumed and the lag is zero', async () => seen.messages.length >= 7 && (await consumer.lag()) === 0);
        expect((await consumer.partitionLag()).every((p) => p.lag === 0)).toBe(true);
        await consumer.shutdown();
      }), TEST_TIMEOUT_MS);

    it('shutdown is idempotent and safe without start', async () => {
      const { bus, cleanup } = await makeBus();
      try {
        const producer = bus.producer();
        const consumer = bus.consumer({ group: unique('conf-group'), topics: [unique('conf-never')] });
        await consumer.shutdown();
        await consumer.shutdown();
        await expect(consumer.stopped()).resolves.toBeUndefined();
        await producer.shutdown();
        await producer.shutdown();
        await bus.shutdown();
        await bus.shutdown();
      } finally {
        await cleanup();
      }
    }, TEST_TIMEOUT_MS);
  });
}
