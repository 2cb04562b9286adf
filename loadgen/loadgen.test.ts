/**
 * The load generator: how a load is split (plan), what the synthetic source produces, and a real run
 * through the collector agents into the embedded bus, read back message by message.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { readAll } from '../bus/embedded/testing.js';
import { SampleBatch } from '../collectors/sample-batch.js';
import { SyntheticSource } from '../collectors/synthetic/synthetic-source.js';
import { decode } from '../schema/codec.js';
import type { Sample } from '../schema/records.js';
import { tempDirs } from '../test/temp-dirs.js';
import { runLoadgen } from './loadgen.js';
import { planLoad } from './plan.js';

const tempDir = tempDirs('isoscope-loadgen-');

describe('planLoad', () => {
  it('spreads the remainder over the first collectors and gives each 10 batches/s by default', () => {
    const plan = planLoad({ collectors: 3, rate: 30_000, count: 100 });
    expect(plan.perCollector).toEqual([34, 33, 33]);
    expect(plan.batchSize).toBe(1000);
    expect(plan.intervalMs).toBe(100);
    expect(plan.plannedRate).toBe(30_000);
  });

  it('derives the interval from an explicit batch size', () => {
    expect(planLoad({ collectors: 2, rate: 1000, count: 10, batchSize: 50 })).toMatchObject({ batchSize: 50, intervalMs: 100 });
  });

  it('refuses loads it cannot express, saying which option to change', () => {
    expect(() => planLoad({ collectors: 0, rate: 1, count: 1 })).toThrow(/--collectors: expected a positive integer, got 0/);
    expect(() => planLoad({ collectors: 1, rate: 0, count: 1 })).toThrow(/--rate: expected samples per second above 0/);
    expect(() => planLoad({ collectors: 1, rate: 10, count: 0 })).toThrow(/--count: expected a positive integer/);
    expect(() => planLoad({ collectors: 1, rate: 10, count: 1, batchSize: 20_000 })).toThrow(/--batch: expected 1 to 10000/);
    expect(() => planLoad({ collectors: 1, rate: 5_000_000, count: 1, batchSize: 10 })).toThrow(/needs an interval below 1 ms; use larger batches \(--batch 5000 or more\)/);
  });
});

describe('SyntheticSource', () => {
  it('produces exactly total samples, value k with metric loadgen_<k%8> and cpu k%4', async () => {
    const source = new SyntheticSource({ total: 10, batchSize: 4 });
    const reads = [await source.read(), await source.read(), await source.read(), await source.read()];
    expect(reads.map((r) => r.length)).toEqual([4, 4, 2, 0]);
    expect(reads.flat().map((s) => s.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reads[2]![1]).toEqual({ metric: 'loadgen_1', value: 9, cpu: 1 });
    expect(source.produced).toBe(10);
    expect(source.valueSum).toBe(45);
  });

  it('writes the same samples straight into a batch (readInto, what the agent calls) as read returns', async () => {
    const viaRead = new SyntheticSource({ total: 10, batchSize: 4 });
    const viaInto = new SyntheticSource({ total: 10, batchSize: 4 });
    for (let tick = 0; tick < 3; tick++) {
      const a = new SampleBatch('n', 'n/loadgen');
      a.begin(5n, tick);
      a.source('loadgen');
      for (const x of await viaRead.read()) a.addFields(x);
      const b = new SampleBatch('n', 'n/loadgen');
      b.begin(5n, tick);
      b.source('loadgen');
      viaInto.readInto(b);
      expect(decode(b.finish(), 'samples').records).toEqual(decode(a.finish(), 'samples').records);
    }
    expect([viaInto.produced, viaInto.valueSum]).toEqual([10, 45]);
  });
});

describe('runLoadgen', () => {
  it('sends every sample once through the collector agents, with consecutive sequences per collector', async () => {
    const dir = tempDir();
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    await bus.ensureTopics(['samples']);
    try {
      const progress: number[] = [];
      const report = await runLoadgen({
        collectors: 3, rate: 20_000, count: 5_000, batchSize: 200, sink: 'embedded', bus,
        stateDir: join(dir, 'state'), spoolMaxBytes: 1 << 30, nodePrefix: 'lg', onProgress: (n) => progress.push(n),
      });
      expect(report.complete).toBe(true);
      expect(report.samples).toBe(5_000);
      expect(report.dropped).toBe(0);
      expect(report.collectors.map((c) => [c.collector, c.samples, c.batches, c.firstSeq, c.lastSeq])).toEqual([
        ['lg-1/loadgen', 1667, 9, 0, 8],
        ['lg-2/loadgen', 1667, 9, 0, 8],
        ['lg-3/loadgen', 1666, 9, 0, 8],
      ]);
      expect(progress.at(-1)).toBe(5_000);

      // A second run with the same state continues each collector's sequence.
      const again = await runLoadgen({ collectors: 1, rate: 10_000, count: 100, batchSize: 100, sink: 'embedded', bus, stateDir: join(dir, 'state'), spoolMaxBytes: 1 << 30, nodePrefix: 'lg' });
      expect(again.collectors[0]).toMatchObject({ collector: 'lg-1/loadgen', firstSeq: 9, lastSeq: 9, samples: 100 });
      await bus.shutdown();

      const samples = (await readAll(join(dir, 'bus'), 'samples')).flatMap((m) => decode(m.value, 'samples').records as Sample[]);
      expect(samples).toHaveLength(5_100);
      for (const c of report.collectors) {
        const mine = samples.filter((s) => s.collector === c.collector && Number(s.seq) <= 8);
        expect(mine).toHaveLength(c.samples);
        expect(new Set(mine.map((s) => s.value)).size).toBe(c.samples);
        expect(mine.reduce((n, s) => n + s.value, 0)).toBe(c.valueSum);
        expect([...new Set(mine.map((s) => Number(s.seq)))].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        expect(mine.every((s) => s.node === c.node && s.source === 'loadgen')).toBe(true);
      }
    } finally {
      await bus.shutdown();
    }
  });
});
