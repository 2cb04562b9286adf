/**
 * The collector's in-place parsers (stat-counters, meminfo-fast, interrupt-counters) against the
 * reference parsers they stand in for, on the fixtures, on edited copies of them (garbage lines,
 * counters going backwards, layout changes) and on two real readings of this machine's files.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SourceSample } from '../source.js';
import { SampleBatch } from '../sample-batch.js';
import { decode } from '../../schema/codec.js';
import { procfsConfigSchema } from './config.js';
import { InterruptCounters } from './interrupt-counters.js';
import { interruptDeltas } from './interrupts.js';
import { MeminfoFields, WANTED_KEYS } from './meminfo-fast.js';
import { parseInterrupts } from './parse-interrupts.js';
import { parseMeminfo } from './parse-meminfo.js';
import { parseProcStat } from './parse-stat.js';
import { ProcFile } from './proc-file.js';
import { ProcfsSource, statDeltas } from './procfs.js';
import { StatCounters } from './stat-counters.js';

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fastStat(a: string, b: string, tps = 100): SourceSample[] {
  const c = new StatCounters(tps);
  const out: SourceSample[] = [];
  c.update(Buffer.from(a), Buffer.byteLength(a), null);
  c.update(Buffer.from(b), Buffer.byteLength(b), (metric, value, cpu) => out.push({ metric, value, cpu }));
  return out;
}

function fastIrq(texts: string[], max: number): SourceSample[][] {
  const c = new InterruptCounters(max);
  return texts.map((t, i) => {
    const out: SourceSample[] = [];
    const buf = Buffer.alloc(Buffer.byteLength(t) + 10, 0x41); // bytes past the length must not matter
    buf.write(t);
    c.update(buf, Buffer.byteLength(t), i === 0 ? null : (value, cpu, irq) => out.push({ metric: 'irq.count', value, cpu, irq }));
    return out;
  });
}

describe('StatCounters', () => {
  const a = fixture('stat-2cpu.txt');
  const bump = (text: string, by: number) => text.replace(/\d+/g, (n) => String(Number(n) + by * (n.length % 3)));
  it.each([
    ['two full readings', a, bump(a, 7)],
    ['fewer columns on an older kernel', fixture('stat-partial.txt'), bump(fixture('stat-partial.txt'), 3)],
    ['garbage lines', a, `${bump(a, 2)}\ncpuX 1 2 3 4\ncpu7 1 2 x 4\n\nctxt notanumber\n`],
    ['counters going backwards and a CPU going away', bump(a, 5), a.replace(/^cpu1 .*$/m, '')],
    ['a CPU coming back with fewer columns', fixture('stat-partial.txt').replace('cpu1 40 0 20 500', 'cpu1 40 0 20'), fixture('stat-partial.txt')],
    ['nothing at all', '', fixture('stat-invalid.txt')],
  ])('gives the deltas of statDeltas(parseProcStat …): %s', (_name, before, after) => {
    expect(fastStat(before, after)).toEqual(statDeltas(parseProcStat(before), parseProcStat(after), 100));
  });

  it('does so on two readings of this machine’s /proc/stat', async () => {
    const before = readFileSync('/proc/stat', 'utf8');
    await sleep(50);
    const after = readFileSync('/proc/stat', 'utf8');
    expect(fastStat(before, after, 100)).toEqual(statDeltas(parseProcStat(before), parseProcStat(after), 100));
  });
});

describe('MeminfoFields', () => {
  const reference = (text: string) => WANTED_KEYS.map((k) => parseMeminfo(text).values.get(k) ?? Number.NaN);
  it.each([
    ['a full /proc/meminfo', fixture('meminfo-full.txt')],
    ['a partial one', fixture('meminfo-partial.txt')],
    ['garbage', fixture('meminfo-invalid.txt')],
    ['a NUMA node file', fixture('numa-2node/node1/meminfo')],
    ['this machine’s /proc/meminfo', readFileSync('/proc/meminfo', 'utf8')],
  ])('picks the values parseMeminfo gives: %s', (_name, text) => {
    const f = new MeminfoFields();
    for (let i = 0; i < 2; i++) f.parse(Buffer.from(text), Buffer.byteLength(text)); // the second parse uses the learnt lines
    expect(Array.from(f.values)).toEqual(reference(text));
    expect(f.node).toBe(parseMeminfo(text).node ?? -1);
  });

  it('finds keys that moved to other lines', () => {
    const text = fixture('meminfo-full.txt');
    const f = new MeminfoFields();
    f.parse(Buffer.from(text), text.length);
    const moved = `Extra: 1 kB\n${text.split('\n').reverse().join('\n')}`;
    f.parse(Buffer.from(moved), moved.length);
    expect(Array.from(f.values)).toEqual(reference(moved));
  });
});

describe('InterruptCounters', () => {
  const a = fixture('interrupts-2cpu-a.txt');
  const b = fixture('interrupts-2cpu-b.txt');
  const ref = (x: string, y: string, max: number) => interruptDeltas(parseInterrupts(x), parseInterrupts(y), max);
  it('gives the deltas of interruptDeltas, bounded alike, reading after reading', () => {
    for (const max of [1000, 5, 1]) {
      const [, first, second, third] = fastIrq([a, b, b, a], max);
      expect(first).toEqual(ref(a, b, max));
      expect(second).toEqual(ref(b, b, max));
      expect(third).toEqual(ref(b, a, max));
    }
  });

  it('follows a change of layout (a new IRQ, another CPU set) through the reference path', () => {
    const withNew = b.replace(/\n/, '\n 99:        5          7   IO-APIC  9-edge      newdev\n');
    const arm = fixture('interrupts-arm64-offline.txt');
    const [, x, y, z] = fastIrq([a, withNew, arm, arm.replace(/\d+/g, (n) => String(Number(n) * 2))], 1000);
    expect(x).toEqual(ref(a, withNew, 1000));
    expect(y).toEqual(ref(withNew, arm, 1000));
    expect(z).toEqual(ref(arm, arm.replace(/\d+/g, (n) => String(Number(n) * 2)), 1000));
  });

  it('does so on two readings of this machine’s /proc/interrupts, mostly without the reference path', async () => {
    const c = new InterruptCounters(64);
    const file = new ProcFile('/proc/interrupts', 64); // starts small: the buffer must grow
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out: SourceSample[] = [];
      c.update(file.read(), file.length, i === 0 ? null : (value, cpu, irq) => out.push({ metric: 'irq.count', value, cpu, irq }));
      texts.push(file.text());
      if (i > 0) expect(out).toEqual(ref(texts[i - 1]!, texts[i]!, 64));
      await sleep(30);
    }
    file.close();
    expect(c.slowReadings).toBe(1);
  });
});

describe('ProcfsSource.readInto on this machine', () => {
  it('writes the samples read() would, straight into a batch', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ interruptsEveryMs: 0, memoryEveryMs: 0 }));
    await source.start();
    await sleep(200);
    const batch = new SampleBatch('n', 'n/procfs');
    batch.begin(1n, 0);
    batch.source('procfs');
    source.readInto(batch);
    const d = decode(batch.finish(), 'samples');
    expect(d.errors).toEqual([]);
    const objects = await source.read();
    await source.shutdown();
    // Same series (values differ: another interval), same labels.
    const key = (r: { metric: string; cpu?: number; irq?: string | null; device?: string | null }) => `${r.metric}/${r.cpu ?? -1}/${r.device ?? ''}`;
    const series = (xs: { metric: string; cpu?: number; irq?: string | null; device?: string | null }[]) => new Set(xs.filter((x) => x.metric !== 'irq.count').map(key));
    expect(series(d.records)).toEqual(series(objects));
    expect(d.records.find((r) => r.metric === 'numa.mem.total')?.device).toBe('node0');
    expect(d.records.some((r) => r.metric === 'irq.count' && r.irq)).toBe(true);
  });
});

describe('ProcfsSource interruptsEveryMs', () => {
  it('reads /proc/interrupts at most that often; irq.count then covers the time since its last reading', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ meminfoPath: null, numaDir: null, interruptsEveryMs: 400 }));
    await source.start();
    const irqs: number[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      irqs.push((await source.read()).filter((s) => s.metric === 'irq.count').length);
    }
    await source.shutdown();
    const reads = irqs.filter((n) => n > 0).length;
    expect(reads).toBeGreaterThanOrEqual(1); // a timer interrupt at least, somewhere, in 400 ms
    expect(reads).toBeLessThanOrEqual(3); // ~1 s of 100 ms intervals, every 400 ms
  });
});

describe('ProcfsSource memoryEveryMs', () => {
  it('reads the meminfo files at most that often: mem.* and numa.mem.* only in the intervals that read them, the first included', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ interruptsPath: null, memoryEveryMs: 400 }));
    await source.start();
    const reads: string[][] = [];
    for (let i = 0; i < 10; i++) {
      reads.push((await source.read()).map((s) => s.metric));
      await sleep(100);
    }
    await source.shutdown();
    const withMemory = reads.map((r, i) => (r.includes('mem.total') ? i : -1)).filter((i) => i >= 0);
    expect(withMemory[0]).toBe(0);
    expect(withMemory.length).toBeGreaterThanOrEqual(2); // ~1 s of 100 ms intervals, every 400 ms
    expect(withMemory.length).toBeLessThanOrEqual(4);
    for (const [i, r] of reads.entries()) {
      expect(r.includes('numa.mem.total')).toBe(withMemory.includes(i)); // this machine has node0: read with /proc/meminfo
      expect(r.filter((m) => m.startsWith('cpu.')).length).toBeGreaterThan(0); // /proc/stat every interval
    }
  });
});
