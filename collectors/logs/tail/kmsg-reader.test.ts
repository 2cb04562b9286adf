import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nowNs } from '../../../core/clock.js';
import { LogParser } from '../parser.js';
import { localBootTimeNs } from '../time.js';
import { KmsgReader } from './kmsg-reader.js';

// These tests use the real /dev/kmsg of this machine: they write marker lines into the kernel log
// (as root) and read them back.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'isoscope-kmsg-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mark = (text: string) => writeFileSync('/dev/kmsg', `<6>isoscope-test: ${text}\n`);

async function readUntil(r: KmsgReader, needle: string): Promise<string[]> {
  const got: string[] = [];
  for (let i = 0; i < 50 && !got.some((l) => l.includes(needle)); i++) {
    got.push(...(await r.read()));
    if (!got.some((l) => l.includes(needle))) await new Promise((res) => setTimeout(res, 20));
  }
  return got;
}

describe('KmsgReader on this machine', () => {
  it('reads a record written to /dev/kmsg, parsed as a Linux event at the right wall time', async () => {
    const marker = randomUUID();
    const before = nowNs();
    mark(marker);
    const r = new KmsgReader({ checkpointPath: join(dir, 'kmsg.json') });
    await r.start();
    const lines = await readUntil(r, marker);
    await r.shutdown();
    const line = lines.find((l) => l.includes(marker));
    expect(line).toMatch(/^\d+,\d+,\d+,[^;]*;isoscope-test: /);
    const { event } = new LogParser({ source: 'linux', bootTimeNs: localBootTimeNs() }).parse(line!);
    expect(event).toMatchObject({ source: 'linux', level: 'info', message: `isoscope-test: ${marker}` });
    expect(Number(event.ts - before) / 1e9).toBeGreaterThan(-1);
    expect(Number(nowNs() - event.ts) / 1e9).toBeLessThan(5);
  });

  it('resumes after the last record handed out: a restarted reader neither repeats nor skips', async () => {
    const cp = join(dir, 'kmsg.json');
    const one = randomUUID();
    mark(one);
    const a = new KmsgReader({ checkpointPath: cp });
    await a.start();
    expect((await readUntil(a, one)).filter((l) => l.includes(one))).toHaveLength(1);
    await a.commit();
    await a.shutdown();

    const two = randomUUID();
    const three = randomUUID();
    mark(two);
    mark(three);
    const b = new KmsgReader({ checkpointPath: cp });
    await b.start();
    const lines = await readUntil(b, three);
    await b.shutdown();
    expect(lines.some((l) => l.includes(one))).toBe(false);
    expect(lines.filter((l) => l.includes(two) || l.includes(three))).toHaveLength(2);
    expect(b.stats.skipped).toBeGreaterThan(0);
    const seqs = lines.map((l) => Number(l.split(',')[1]));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('starts from the beginning of the log when the boot id changed (a reboot)', async () => {
    const cp = join(dir, 'kmsg.json');
    const marker = randomUUID();
    mark(marker);
    const a = new KmsgReader({ checkpointPath: cp });
    await a.start();
    await readUntil(a, marker);
    await a.shutdown();
    const otherBoot = join(dir, 'boot_id');
    writeFileSync(otherBoot, `${randomUUID()}\n`);
    const b = new KmsgReader({ checkpointPath: cp, bootIdPath: otherBoot });
    await b.start();
    expect((await readUntil(b, marker)).some((l) => l.includes(marker))).toBe(true);
    await b.shutdown();
  });

  it('with startAt end and no checkpoint, hands out only records written after start', async () => {
    const old = randomUUID();
    mark(old);
    const r = new KmsgReader({ checkpointPath: join(dir, 'kmsg.json'), startAt: 'end' });
    await r.start();
    const fresh = randomUUID();
    mark(fresh);
    const lines = await readUntil(r, fresh);
    await r.shutdown();
    expect(lines.some((l) => l.includes(old))).toBe(false);
    expect(lines.some((l) => l.includes(fresh))).toBe(true);
  });

  it('says what is wrong when the device cannot be opened', async () => {
    const r = new KmsgReader({ checkpointPath: join(dir, 'kmsg.json'), path: join(dir, 'no-such-kmsg') });
    await expect(r.start()).rejects.toThrow(/cannot open .*no-such-kmsg for reading/);
    await r.shutdown();
  });
});
