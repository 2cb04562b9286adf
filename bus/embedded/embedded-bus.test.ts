/**
 * The embedded bus: the shared Bus conformance suite, then what only a local log has to prove:
 * torn-tail recovery, rolling segments, consumer rules and group commit. Crashes of whole
 * processes and the directory lock: processes.test.ts.
 */
import { appendFileSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BusMessage, DeliveredMessage } from '../bus.js';
import { busConformance } from '../bus.case.js';
import { EmbeddedBus } from './embedded-bus.js';
import { crc32, tableCrc32 } from '../../core/crc32.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { readAll } from './testing.js';

const tempDir = tempDirs('isoscope-bus-');

busConformance('embedded bus (conformance)', async () => {
  const dir = tempDir();
  return { bus: new EmbeddedBus({ dir }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const msgs = (n: number, size = 32, from = 0): BusMessage[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i % 2}`, value: Buffer.from(`m${from + i}-`.padEnd(size, '.')), headers: { i: String(from + i) } }));


const segmentFiles = (dir: string, topic: string) =>
  readdirSync(join(dir, 'topics', topic, '0')).filter((f) => f.endsWith('.log')).sort().map((f) => join(dir, 'topics', topic, '0', f));

describe('embedded bus: segment format', () => {
  it('computes the standard CRC-32 with the table fallback as with zlib', () => {
    const data = Buffer.from('123456789');
    expect(tableCrc32(data)).toBe(0xcbf43926);
    expect(crc32(data)).toBe(0xcbf43926);
  });
});

describe('embedded bus: recovery', () => {
  async function writeTwenty(): Promise<{ dir: string; file: string }> {
    const dir = tempDir();
    const bus = new EmbeddedBus({ dir });
    await bus.ensureTopics(['t']);
    await bus.producer().send('t', msgs(20));
    await bus.shutdown();
    return { dir, file: segmentFiles(dir, 't')[0]! };
  }

  it('cuts a record torn at the tail and keeps every complete one; appends continue after them', async () => {
    const { dir, file } = await writeTwenty();
    truncateSync(file, statSync(file).size - 7);
    const bus = new EmbeddedBus({ dir });
    await bus.start();
    await bus.producer().send('t', msgs(1, 32, 100));
    await bus.shutdown();
    const seen = await readAll(dir, 't');
    expect(seen.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(seen.slice(0, 19).map((m) => m.headers?.i)).toEqual(Array.from({ length: 19 }, (_, i) => String(i)));
    expect(seen[19]!.headers?.i).toBe('100');
  });

  it('cuts garbage appended after the last record, and a last record whose CRC does not match', async () => {
    const a = await writeTwenty();
    appendFileSync(a.file, Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 5, 6]));
    expect(await readAll(a.dir, 't')).toHaveLength(20);

    const b = await writeTwenty();
    const bytes = readFileSync(b.file);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff; // inside the last record's value
    writeFileSync(b.file, bytes);
    const seen = await readAll(b.dir, 't');
    expect(seen).toHaveLength(19);
    expect(seen[18]!.headers?.i).toBe('18');
  });

  it('rolls segments at segmentBytes and reads across them after a reopen', async () => {
    const dir = tempDir();
    const bus = new EmbeddedBus({ dir, segmentBytes: 4096 });
    await bus.ensureTopics(['t']);
    const producer = bus.producer();
    for (let i = 0; i < 20; i++) await producer.send('t', msgs(10, 100, i * 10));
    await bus.shutdown();
    expect(segmentFiles(dir, 't').length).toBeGreaterThan(3);
    const seen = await readAll(dir, 't');
    expect(seen.map((m) => Number(m.offset))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(seen.map((m) => m.headers?.i)).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });
});

describe('embedded bus: consumers', () => {
  it('hands out batches of at most batchMaxMessages', async () => {
    const dir = tempDir();
    const bus = new EmbeddedBus({ dir, batchMaxMessages: 10 });
    await bus.ensureTopics(['t']);
    await bus.producer().send('t', msgs(25));
    const sizes: number[] = [];
    const consumer = bus.consumer({ group: 'g', topics: ['t'] });
    await consumer.run(async (b) => void sizes.push(b.messages.length));
    while ((await consumer.lag()) > 0) await new Promise((r) => setTimeout(r, 10));
    expect(sizes).toEqual([10, 10, 5]);
    await bus.shutdown();
  });

  it('refuses a second active consumer in the same group, and accepts one after the first shut down', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await bus.ensureTopics(['t']);
    const first = bus.consumer({ group: 'g', topics: ['t'] });
    await first.run(async () => undefined);
    await expect(bus.consumer({ group: 'g', topics: ['t'] }).run(async () => undefined)).rejects.toThrow(/already has an active consumer/);
    await first.shutdown();
    await bus.consumer({ group: 'g', topics: ['t'] }).run(async () => undefined);
    await bus.shutdown();
  });

  it('starts at the end for a new group with fromBeginning false', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await bus.ensureTopics(['t']);
    const producer = bus.producer();
    await producer.send('t', msgs(5));
    const seen: DeliveredMessage[] = [];
    const consumer = bus.consumer({ group: 'late', topics: ['t'], fromBeginning: false });
    await consumer.run(async (b) => void seen.push(...b.messages));
    expect(await consumer.lag()).toBe(0);
    await producer.send('t', msgs(2, 32, 5));
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 10));
    expect(seen.map((m) => m.offset)).toEqual(['5', '6']);
    await bus.shutdown();
  });

  it('refuses unknown topics and bad topic names with a message saying what to do', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await expect(bus.producer().send('nope', msgs(1))).rejects.toThrow(/does not exist.*ensureTopics/);
    await expect(bus.ensureTopics(['../escape'])).rejects.toThrow(/invalid topic name/);
    await bus.shutdown();
    expect(() => new EmbeddedBus({ dir: 'x', segmentBytes: 10 })).toThrow(/invalid embedded bus options: options.segmentBytes/);
  });
});

describe('embedded bus: shutdown', () => {
  it('lets the batch in the handler finish and commit before a consumer stops', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await bus.ensureTopics(['t']);
    await bus.producer().send('t', msgs(3));
    let release!: () => void;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const consumer = bus.consumer({ group: 'g', topics: ['t'] });
    await consumer.run(() => (entered(), new Promise<void>((r) => (release = r))));
    await inHandler;
    const stopping = consumer.shutdown(10_000);
    release();
    await stopping;
    expect(await consumer.lag()).toBe(0);
    await bus.shutdown();
  });

  it('gives up on a handler still running at the deadline, leaving its batch uncommitted', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await bus.ensureTopics(['t']);
    await bus.producer().send('t', msgs(3));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const stuck = bus.consumer({ group: 'g', topics: ['t'] });
    await stuck.run(() => (entered(), new Promise<void>(() => undefined)));
    await inHandler;
    await stuck.shutdown(50);
    const next = bus.consumer({ group: 'g', topics: ['t'] });
    expect(await next.lag()).toBe(3);
    const seen: DeliveredMessage[] = [];
    await next.run(async (b) => void seen.push(...b.messages));
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 10));
    await bus.shutdown();
  });

  it('resolves the sends still queued when the bus shuts down', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await bus.ensureTopics(['t']);
    const producer = bus.producer();
    const sends = Array.from({ length: 50 }, (_, i) => producer.send('t', msgs(2, 32, i * 2)));
    await bus.shutdown();
    await expect(Promise.all(sends)).resolves.toHaveLength(50);
    await expect(producer.send('t', msgs(1))).rejects.toThrow(/shut down/);
  });
});

describe('embedded bus: group commit', () => {
  it('shares one fdatasync among the sends queued while another is in flight', async () => {
    const bus = new EmbeddedBus({ dir: tempDir() });
    await bus.ensureTopics(['t']);
    const producer = bus.producer();
    const sends = 400;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: sends }, (_, i) => producer.send('t', msgs(10, 1024, i * 10))));
    const seconds = (performance.now() - t0) / 1000;
    const { syncs, messages } = bus.topicLog('t').stats;
    expect(messages).toBe(sends * 10);
    expect(syncs).toBeLessThan(sends / 10);
    expect(messages / seconds, `${Math.round(messages / seconds)} messages/s with ${syncs} syncs`).toBeGreaterThan(2000);
    await bus.shutdown();
  });
});

