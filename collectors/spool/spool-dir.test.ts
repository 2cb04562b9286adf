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
});
