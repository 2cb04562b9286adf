import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTailer } from './file-tailer.js';
import { LineSplitter } from './line-splitter.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'isoscope-tail-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes numbered lines and remembers them, so the test knows every line that was written. */
class Writer {
  readonly written: string[] = [];
  private n = 0;
  constructor(private readonly path: string) {}
  lines(count: number, to = this.path): void {
    const batch = Array.from({ length: count }, () => `[0]:<8>(init_task) line ${this.n++} ${'x'.repeat(this.n % 37)}`);
    this.written.push(...batch);
    appendFileSync(to, batch.map((l) => `${l}\n`).join(''));
  }
}

async function drain(t: FileTailer, into: string[]): Promise<void> {
  for (;;) {
    const lines = await t.read();
    into.push(...lines);
    await t.commit();
    if (lines.length === 0) return;
  }
}

describe('FileTailer', () => {
  it('delivers every line exactly once across rotation, truncation and restarts of the collector', async () => {
    const path = join(dir, 'console.log');
    const checkpointPath = join(dir, 'state', 'console.json');
    const w = new Writer(path);
    const got: string[] = [];
    let t = new FileTailer({ path, checkpointPath });
    await t.start();

    w.lines(100);
    appendFileSync(path, '[0]:<8>(init_task) half a li');
    await drain(t, got);
    expect(got).toHaveLength(100);
    appendFileSync(path, 'ne\n');
    w.written.push('[0]:<8>(init_task) half a line');
    await drain(t, got);

    // Rotation by rename while the writer still appends to the old file, then a new file.
    renameSync(path, `${path}.1`);
    w.lines(7, `${path}.1`);
    w.lines(20);
    await drain(t, got);
    expect(t.stats.rotations).toBe(1);

    // Orderly restart in the middle: stop, the file rotates while we are down, start again.
    w.lines(5);
    await drain(t, got);
    w.lines(3);
    await t.shutdown();
    renameSync(path, `${path}.2`);
    w.lines(11);
    t = new FileTailer({ path, checkpointPath });
    await t.start();
    await drain(t, got);

    // copytruncate: the file is emptied and written again, here beyond its old size at once.
    truncateSync(path, 0);
    w.lines(40);
    await drain(t, got);
    expect(t.stats.truncations).toBe(1);

    // Abrupt restart (no shutdown, as after a crash) right after a commit.
    w.lines(9);
    const partial = await t.read();
    got.push(...partial);
    await t.commit();
    w.lines(6);
    t = new FileTailer({ path, checkpointPath });
    await t.start();
    await drain(t, got);
    await t.shutdown();

    expect(got).toEqual(w.written);
  });

  it('starts at the end when asked to and there is no checkpoint', async () => {
    const path = join(dir, 'c.log');
    writeFileSync(path, 'old 1\nold 2\n');
    const t = new FileTailer({ path, checkpointPath: join(dir, 'cp.json'), startAt: 'end' });
    await t.start();
    appendFileSync(path, 'new 1\n');
    expect(await t.read()).toEqual(['new 1']);
    await t.shutdown();
  });

  it('waits for a file that does not exist yet, and reads it from the start when it appears', async () => {
    const path = join(dir, 'later.log');
    const t = new FileTailer({ path, checkpointPath: join(dir, 'cp.json') });
    await t.start();
    expect(await t.read()).toEqual([]);
    writeFileSync(path, 'first\r\nsecond\n');
    expect(await t.read()).toEqual(['first', 'second']);
    await t.shutdown();
    await t.shutdown();
  });

  it('refuses a checkpoint it did not write, saying what it expected', async () => {
    const cp = join(dir, 'cp.json');
    writeFileSync(cp, '{"offset": -3}');
    await expect(new FileTailer({ path: join(dir, 'x.log'), checkpointPath: cp }).start()).rejects.toThrow(/expected \{"v":1/);
    writeFileSync(cp, 'not json');
    await expect(new FileTailer({ path: join(dir, 'x.log'), checkpointPath: cp }).start()).rejects.toThrow(/not valid JSON/);
  });

  it('writes its checkpoint atomically as JSON at the line boundary', async () => {
    const path = join(dir, 'c.log');
    const cp = join(dir, 'cp.json');
    writeFileSync(path, 'abc\ndef');
    const t = new FileTailer({ path, checkpointPath: cp });
    await t.start();
    expect(await t.read()).toEqual(['abc']);
    await t.commit();
    expect(JSON.parse(readFileSync(cp, 'utf8'))).toMatchObject({ v: 1, offset: 4, fpLen: 4 });
    await t.shutdown();
  });
});

describe('LineSplitter', () => {
  it('splits on \\n, drops \\r, holds partial lines and counts consumed bytes', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('a\r\nb'))).toEqual(['a']);
    expect(s.consumed).toBe(3);
    expect(s.pendingBytes).toBe(1);
    expect(s.push(Buffer.from('c\n'))).toEqual(['bc']);
    expect(s.consumed).toBe(6);
    expect(s.flush()).toBeNull();
  });

  it('cuts over-long lines without splitting a UTF-8 character, and decodes invalid bytes as U+FFFD', () => {
    const s = new LineSplitter(8);
    const lines = s.push(Buffer.from('ééééééééé\n'));
    expect(lines.join('')).toBe('ééééééééé');
    expect(lines.every((l) => Buffer.byteLength(l) <= 8)).toBe(true);
    expect(s.cut).toBeGreaterThan(0);
    expect(new LineSplitter().push(Buffer.from([0x61, 0xff, 0xfe, 0x0a]))).toEqual(['a\ufffd\ufffd']);
  });
});
