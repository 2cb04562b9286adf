import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SequenceFile } from './sequence.js';

const dir = mkdtempSync(join(tmpdir(), 'isoscope-seq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SequenceFile', () => {
  it('counts on across restarts, per collector and topic', () => {
    const a = SequenceFile.forCollector(dir, 'n1/procfs');
    expect([a.take(), a.take(), a.take()]).toEqual([0, 1, 2]);
    a.close();
    const again = SequenceFile.forCollector(dir, 'n1/procfs');
    expect(again.take()).toBe(3);
    expect(SequenceFile.forCollector(dir, 'n1/procfs', 'events').take()).toBe(0);
    expect(readFileSync(join(dir, 'n1_procfs.seq'), 'utf8')).toBe('00000000000000000004\n');
  });

  it('refuses a damaged file with what to do', () => {
    writeFileSync(join(dir, 'bad.seq'), 'garbage');
    expect(() => SequenceFile.forCollector(dir, 'bad')).toThrow(/bad\.seq: expected the next batch number as digits, found "garbage"; delete the file/);
  });
});
