import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
  });

  it('finds what a previous run left, in order, and discards a torn write', async () => {
    const dir = tempDir();
    const first = new SpoolDir(dir, 1 << 20);
    await first.open();
    for (let seq = 0; seq < 5; seq++) await first.append('samples', seq, 'n', Buffer.from(`batch ${seq}`));
    writeFileSync(join(dir, '0000000000000099.samples.99.batch.tmp'), 'half');
    const second = new SpoolDir(dir, 1 << 20);
    await second.open();
    expect(second.stats.batches).toBe(5);
    const seqs: number[] = [];
    for (let e = await second.oldest(); e; e = await second.oldest()) {
      seqs.push(e.seq);
      await second.remove(e);
    }
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
    expect(readdirSync(dir)).toEqual([]);
    await second.append('samples', 5, 'n', Buffer.from('after restart'));
    expect((await second.oldest())!.body.toString()).toBe('after restart');
  });

  it('drops the oldest batches only past its bound, and says which', async () => {
    const spool = new SpoolDir(tempDir(), 3 * 1024);
    await spool.open();
    for (let seq = 0; seq < 10; seq++) await spool.append('samples', seq, 'n', Buffer.alloc(1000));
    expect(spool.stats.bytes).toBeLessThanOrEqual(3 * 1024);
    expect(spool.stats.batches + spool.stats.droppedBatches).toBe(10);
    expect(spool.stats.dropped.map((d) => d.seq)).toEqual(Array.from({ length: spool.stats.droppedBatches }, (_, i) => i));
    expect((await spool.oldest())!.seq).toBe(spool.stats.droppedBatches);
  });

  it('makes the batches of one moment durable together: one segment file, every append resolved only once it is named', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20);
    await spool.open();
    const seen: string[][] = [];
    const appends = Array.from({ length: 50 }, (_, seq) =>
      spool.append('samples', seq, 'n', Buffer.from(`batch ${seq}`)).then(() => void seen.push(readdirSync(dir))),
    );
    await Promise.all(appends);
    expect(spool.stats).toMatchObject({ batches: 50, commits: 1, committedBatches: 50 });
    // Each append resolved after the segment had its final name (written, fdatasync'ed, renamed).
    expect(new Set(seen.map((names) => names.join()))).toEqual(new Set(['0000000000000000.50.seg']));
    // Appends made while a group is being written go into the next one.
    const first = spool.append('events', 0, null, Buffer.from('a'));
    await Promise.resolve();
    const later = [spool.append('events', 1, null, Buffer.from('b')), spool.append('events', 2, null, Buffer.from('c'))];
    await Promise.all([first, ...later]);
    expect(spool.stats.commits).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(['0000000000000000.50.seg', '0000000000000050.1.seg', '0000000000000051.2.seg']);

    const again = new SpoolDir(dir, 1 << 20);
    await again.open();
    const all = await again.next(1 << 20);
    expect(all.map((e) => `${e.topic}:${e.seq}:${e.key}:${e.body.toString()}`)).toEqual([
      ...Array.from({ length: 50 }, (_, seq) => `samples:${seq}:n:batch ${seq}`),
      'events:0:null:a', 'events:1:null:b', 'events:2:null:c',
    ]);
    await again.remove(all);
    expect(readdirSync(dir)).toEqual([]);
    expect(again.stats).toMatchObject({ batches: 0, bytes: 0 });
  });

  it('hands out whole segments up to the byte bound, and splits a group larger than a segment', async () => {
    const dir = tempDir();
    const spool = new SpoolDir(dir, 1 << 20, { segmentMaxBytes: 4000 });
    await spool.open();
    // 10 batches of ~1 kB at once: three segments of at most 4000 bytes (3, 3, 3 and 1 batches).
    await Promise.all(Array.from({ length: 10 }, (_, seq) => spool.append('samples', seq, 'n', Buffer.alloc(1000, seq))));
    expect(readdirSync(dir).sort()).toEqual(['0000000000000000.3.seg', '0000000000000003.3.seg', '0000000000000006.3.seg', '0000000000000009.1.seg']);
    const unit = await spool.next(7000);
    expect(unit.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]); // two whole segments; the third would pass 7000
    expect(unit.every((e, i) => e.body.length === 1000 && e.body[0] === i)).toBe(true);
    await spool.remove(unit);
    expect((await spool.next(0)).map((e) => e.seq)).toEqual([6]); // at least one batch, whatever the bound
    expect((await spool.next(1 << 20)).map((e) => e.seq)).toEqual([6, 7, 8, 9]);
  });

  it('sends batch files of the previous version first, in order', async () => {
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
    const spool = new SpoolDir(dir, 1 << 20);
    await spool.open();
    expect(spool.stats.batches).toBe(2);
    await spool.append('samples', 42, 'old-node', Buffer.from('new 42'));
    const all = await spool.next(1 << 20);
    expect(all.map((e) => [e.topic, e.seq, e.key, e.body.toString()])).toEqual([
      ['samples', 41, 'old-node', 'old 41'],
      ['events', 9, null, 'old events 9'],
      ['samples', 42, 'old-node', 'new 42'],
    ]);
    await spool.remove(all);
    expect(readdirSync(dir)).toEqual([]);
  });
});
