/**
 * The spooling producer in front of a real bus (the embedded durable log): a backlog left by an
 * earlier run and new batches go out several per request, in order, each exactly once; a batch the
 * receiver refuses for good is the only one dropped, and the batches sent before it in the same
 * request are not sent twice. (The Kafka outage itself: kafka-outage.test.ts.)
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markTaken, type BusMessage, type BusProducer } from '../../bus/bus.js';
import { EmbeddedBus } from '../../bus/embedded/embedded-bus.js';
import { readAll } from '../../bus/embedded/testing.js';
import { PermanentError } from '../../core/errors.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { SpoolDir } from './spool-dir.js';
import { SpoolingProducer } from './spooling-producer.js';

const tempDir = tempDirs('isoscope-spooling-');

/** The real producer, with each request's batch count recorded (and, optionally, one seq refused for good). */
function counting(target: BusProducer, refuse?: number): BusProducer & { requests: number[] } {
  const requests: number[] = [];
  return {
    requests,
    start: () => target.start(),
    shutdown: (ms) => target.shutdown(ms),
    async send(topic: string, messages: BusMessage[]) {
      requests.push(messages.length);
      const bad = messages.findIndex((m) => JSON.parse(m.value.toString()).seq === refuse);
      if (bad < 0) return target.send(topic, messages);
      // As `isoscope up` does: the batches before the refused one are appended, then a 400.
      if (bad > 0) await target.send(topic, messages.slice(0, bad));
      throw markTaken(new PermanentError(`batch ${refuse} refused`), bad);
    },
  };
}

const body = (seq: number) => Buffer.from(JSON.stringify({ seq, pad: 'x'.repeat(200) }));
const seqsOn = async (dir: string) => (await readAll(dir, 'samples')).map((m) => (JSON.parse(m.value.toString()) as { seq: number }).seq);

describe('SpoolingProducer', () => {
  it('forwards an earlier run\'s backlog and new batches several per request, in order, each once', async () => {
    const dir = tempDir();
    const earlier = new SpoolDir(join(dir, 'spool'), 1 << 30);
    await earlier.open();
    await Promise.all(Array.from({ length: 300 }, (_, seq) => earlier.append('samples', seq, 'n', body(seq))));
    await earlier.close();

    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.ensureTopics(['samples']);
    const target = counting(bus.producer());
    const producer = new SpoolingProducer(target, new SpoolDir(join(dir, 'spool'), 1 << 30));
    await producer.start();
    for (let seq = 300; seq < 600; seq += 10) {
      await producer.send('samples', Array.from({ length: 10 }, (_, i) => ({ key: 'n', value: body(seq + i), headers: { seq: String(seq + i) } })));
    }
    await producer.shutdown(20_000);
    expect(producer.spool.stats).toMatchObject({ batches: 0, droppedBatches: 0 });
    await bus.shutdown();

    expect(await seqsOn(join(dir, 'bus'))).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(target.requests.reduce((a, b) => a + b, 0)).toBe(600);
    expect(target.requests.length).toBeLessThan(600 / 5); // the backlog alone is 300 batches of ~230 bytes
    expect(Math.max(...target.requests)).toBeGreaterThanOrEqual(300);
  });

  it('drops only the batch the receiver refuses for good, and does not resend the ones it took before it', async () => {
    const dir = tempDir();
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.ensureTopics(['samples']);
    const target = counting(bus.producer(), 7);
    const spool = new SpoolDir(join(dir, 'spool'), 1 << 30);
    await spool.open();
    await Promise.all(Array.from({ length: 20 }, (_, seq) => spool.append('samples', seq, 'n', body(seq))));
    const producer = new SpoolingProducer(target, spool);
    await producer.start();
    await producer.shutdown(20_000);
    await bus.shutdown();

    expect(target.requests).toEqual([20, 12]); // all 20; after the refusal, the 12 behind it
    expect(producer.spool.stats).toMatchObject({ batches: 0, droppedBatches: 1, dropped: [{ topic: 'samples', seq: 7 }] });
    expect(await seqsOn(join(dir, 'bus'))).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((s) => s !== 7));
  });
});
