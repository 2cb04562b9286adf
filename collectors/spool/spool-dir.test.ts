import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, tableCrc32 } from '../../core/crc32.js';
import { encodeSegment } from './segment-file.js';
import { SpoolDir } from './spool-dir.js';
import { tempDirs } from '../../test/temp-dirs.js';

const tempDir = tempDirs('isoscope-spool-');

describe('SpoolDir', () => {
  it('hands batches back oldest first with key and body intact, and forgets removed ones', async () => {
    const spool = new SpoolDir(tempDir(), 1 << 20);
    await spool.open();
    await spool.append('samples', 7, 'node-1', Buffer.from('first'));
    await spool.append('events', 3, null, Buffer.from('second'));
    const a = await spool.oldest();
    expect(a).toMatchObject({ topic: 'samples', seq: 7, key: 'node-1' });
    expect(a!.body.toString()).toBe('first');
    await spool.remove(a!);
    const b = await spool.oldest();
    expect(b).toMatchObject({ topic: 'events', seq: 3, key: null });
    await spool.remove(b!);
    expect(await spool.oldest()).toBeNull();
    expect(spool.stats).toMatchObject({ batches: 0, bytes: 0 });
    await spool.close();
  });

  it('finds what a previous run left, in order, and discards a torn write', async () => {
    const dir = tempDir();
    const first = new SpoolDir(dir, 1 << 20);
    await first.open();
    for (let seq = 0; seq < 5; seq++) await first.append('samples', seq, 'n', Buffer.from(`batch ${seq}`));
    writeFileSync(join(dir, '0000000000000099.samples.99.batch.tmp'), 'half');
    await first.close();
    const second = new SpoolDir(dir, 1 << 20);
    await second.open();
    expect(second.stats.batches).toBe(5);
    const seqs: number[] = [];
    for (let e = await second.oldest(); e; e = await second.oldest()) {
      seqs.push(e.seq);
      await second.remove(e);
    }
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
    expect(readdirSync(dir)).toEqual(['forwarded']); // the log file went with its last batch
    await second.append('samples', 5, 'n', Buffer.from('after restart'));
    expect((await second.oldest())!.body.toString()).toBe('after restart');
    await second.close();
  });

  it('drops the oldest batches only past its bound, and says which', async () => {
    const spool = new SpoolDir(tempDir(), 3 * 1024);
    await spool.open();
    for (let seq = 0; seq < 10; seq++) await spool.append('samples', seq, 'n', Buffer.alloc(1000));
    expect(spool.stats.bytes).toBeLessThanOrEqual(3 * 1024);
    expect(spool.stats.batches + spool.stats.droppedBatches).toBe(10);
    expect(spool.stats.dropped.map((d) => d.seq)).toEqual(Array.from({ length: spool.stats.droppedBatches }, (_, i) => i));
    expect((await spool.oldest())!.seq).toBe(spool.stats.droppedBatches);
    await spool.close();
  });

  it('makes the batches of one moment durable together: one frame and one fdatasync, every append resolved after it', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20);
    await spool.open();
    const sizes: number[] = [];
    const appends = Array.from({ length: 50 }, (_, seq) =>
      spool.append('samples', seq, 'n', Buffer.from(`batch ${seq}`)).then(() => void sizes.push(statSync(join(dir, '0000000000000000.log')).size)),
    );
    await Promise.all(appends);
    expect(spool.stats).toMatchObject({ batches: 50, commits: 1, committedBatches: 50 });
    // Each append resolved once the whole frame was in the file.
    expect(new Set(sizes)).toEqual(new Set([spool.stats.diskBytes]));
    // Appends made while a frame is being written go into the next one, in the same file.
    const first = spool.append('events', 0, null, Buffer.from('a'));
    await Promise.resolve();
    const later = [spool.append('events', 1, null, Buffer.from('b')), spool.append('events', 2, null, Buffer.from('c'))];
    await Promise.all([first, ...later]);
    expect(spool.stats.commits).toBe(3);
    expect(readdirSync(dir)).toEqual(['0000000000000000.log']);

    // A crash (nothing closed): the next run finds all of it, in order, and writes a log of its own.
    const again = new SpoolDir(dir, 1 << 20);
    await again.open();
    const all = await again.next(1 << 20);
    expect(all.map((e) => `${e.topic}:${e.seq}:${e.key}:${e.body.toString()}`)).toEqual([
      ...Array.from({ length: 50 }, (_, seq) => `samples:${seq}:n:batch ${seq}`),
      'events:0:null:a', 'events:1:null:b', 'events:2:null:c',
    ]);
    await again.remove(all);
    await again.append('samples', 50, 'n', Buffer.from('next run'));
    expect(readdirSync(dir).sort()).toEqual(['0000000000000001.log', 'forwarded']);
    expect(again.stats).toMatchObject({ batches: 1, commits: 1 });
    await again.close();
    await spool.close();
  });

  it('with writeOnLoop writes, fdatasyncs and marks on the event loop: durable before any thread-pool callback could run', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20, { writeOnLoop: true });
    await spool.open();
    await spool.append('samples', 0, 'n', Buffer.from('first')); // creates the log file (that stays asynchronous)
    await spool.remove(await spool.next(1 << 20)); // opens the forward marker
    let resolved = 0;
    const appends = [1, 2, 3].map((seq) => spool.append('samples', seq, 'n', Buffer.from(`batch ${seq}`)).then(() => resolved++));
    // Microtasks only: the event loop never polls, so no thread-pool write could complete meanwhile.
    const microtasks = async () => { for (let i = 0; i < 50; i++) await Promise.resolve(); };
    await microtasks();
    expect(resolved).toBe(3);
    expect(spool.stats).toMatchObject({ batches: 3, commits: 2, committedBatches: 4 });
    expect(statSync(join(dir, '0000000000000000.log')).size).toBe(spool.stats.diskBytes);
    const sent = await spool.next(1 << 20);
    void spool.remove(sent.slice(0, 2));
    await microtasks();
    expect(readFileSync(join(dir, 'forwarded')).readBigUInt64BE(0)).toBe(3n); // positions 0-2 taken
    await Promise.all(appends);
    // A crash (nothing closed): the next run finds the batch not taken.
    const again = new SpoolDir(dir, 1 << 20, { writeOnLoop: true });
    await again.open();
    expect((await again.next(1 << 20)).map((e) => `${e.seq}:${e.body.toString()}`)).toEqual(['3:batch 3']);
    await again.close();
    await spool.close();
  });

  it('after a crash sends only what the bus had not taken, and ignores a torn last frame', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20);
    await spool.open();
    for (let seq = 0; seq < 6; seq++) await spool.append('samples', seq, 'n', Buffer.from(`batch ${seq}`));
    await spool.remove((await spool.next(1 << 20)).slice(0, 4)); // the bus took 0–3, then the process died
    const log = join(dir, '0000000000000000.log');
    const whole = statSync(log).size;
    appendFileSync(log, Buffer.from([0, 0, 1, 0, 9, 9, 9])); // a frame header cut short, as a crash mid-write leaves it
    const again = new SpoolDir(dir, 1 << 20);
    await again.open();
    expect((await again.next(1 << 20)).map((e) => e.seq)).toEqual([4, 5]);
    // A frame whose bytes are all there but wrong (CRC) ends the file the same way.
    const raw = readFileSync(log).subarray(0, whole);
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0xff;
    writeFileSync(log, raw);
    const third = new SpoolDir(dir, 1 << 20);
    await third.open();
    expect((await third.next(1 << 20)).map((e) => e.seq)).toEqual([4]);
    for (const s of [spool, again, third]) await s.close();
  });

  it('hands out whole frames up to the byte bound, and splits a group larger than a frame', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20, { segmentMaxBytes: 4000 });
    await spool.open();
    // 10 batches of ~1 kB at once: frames of at most 4000 bytes (3, 3, 3 and 1 batches).
    await Promise.all(Array.from({ length: 10 }, (_, seq) => spool.append('samples', seq, 'n', Buffer.alloc(1000, seq))));
    expect(spool.stats).toMatchObject({ commits: 4, committedBatches: 10 });
    const unit = await spool.next(7000);
    expect(unit.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]); // two whole frames; the third would pass 7000
    expect(unit.every((e, i) => e.body.length === 1000 && e.body[0] === i)).toBe(true);
    await spool.remove(unit);
    expect((await spool.next(0)).map((e) => e.seq)).toEqual([6]); // at least one batch, whatever the bound
    expect((await spool.next(1 << 20)).map((e) => e.seq)).toEqual([6, 7, 8, 9]);
    await spool.close();
  });

  it('reads frames back from disk past its memory budget', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20, { memoryBytes: 2500 });
    await spool.open();
    for (let seq = 0; seq < 5; seq++) await spool.append('samples', seq, 'n', Buffer.alloc(1000, seq));
    const all = await spool.next(1 << 20); // two held in memory, three read from the file being written
    expect(all.map((e) => [e.seq, e.body.length, e.body[999]])).toEqual([0, 1, 2, 3, 4].map((s) => [s, 1000, s]));
    await spool.close();
  });

  it('sends what earlier versions left first, in order: one-batch files, then segment files', async () => {
    const dir = tempDir();
    const legacy = (position: number, topic: string, seq: number, key: string | null, body: string) => {
      const k = Buffer.from(key ?? '');
      const header = Buffer.alloc(5);
      header.writeUInt8(key === null ? 0 : 1, 0);
      header.writeUInt32BE(k.length, 1);
      writeFileSync(join(dir, `${String(position).padStart(16, '0')}.${topic}.${seq}.batch`), Buffer.concat([header, k, Buffer.from(body)]));
    };
    legacy(0, 'samples', 41, 'old-node', 'old 41');
    legacy(1, 'events', 9, null, 'old events 9');
    writeFileSync(join(dir, '0000000000000002.2.seg'), Buffer.concat(encodeSegment([
      { topic: 'samples', seq: 42, key: 'old-node', body: Buffer.from('seg 42') },
      { topic: 'samples', seq: 43, key: 'old-node', body: Buffer.from('seg 43') },
    ])));
    const spool = new SpoolDir(dir, 1 << 20);
    await spool.open();
    expect(spool.stats.batches).toBe(4);
    await spool.append('samples', 44, 'old-node', Buffer.from('new 44'));
    const all = await spool.next(1 << 20);
    expect(all.map((e) => [e.topic, e.seq, e.key, e.body.toString()])).toEqual([
      ['samples', 41, 'old-node', 'old 41'],
      ['events', 9, null, 'old events 9'],
      ['samples', 42, 'old-node', 'seg 42'],
      ['samples', 43, 'old-node', 'seg 43'],
      ['samples', 44, 'old-node', 'new 44'],
    ]);
    expect(all.map((e) => e.position)).toEqual([0, 1, 2, 3, 4]);
    await spool.remove(all);
    await spool.close();
    expect(readdirSync(dir)).toEqual(['forwarded']);
  });
});

describe('the spool\'s CRC-32', () => {
  it('is zlib\'s, from node:zlib or the table in JavaScript alike', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(tableCrc32(data, 0)).toBe(0x414fa339);
    expect(crc32(data, 0)).toBe(0x414fa339);
    expect(tableCrc32(data.subarray(10), tableCrc32(data.subarray(0, 10), 0))).toBe(0x414fa339);
  });
});
