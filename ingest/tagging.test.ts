/** Unit tests of the watermark deadline and of tagging a batch from the index. */
import { describe, expect, it } from 'vitest';
import { validate } from '../schema/codec.js';
import { OwnershipIndex } from './ownership.js';
import { tagSamples, unmatchedSamples, watermarkDeadline } from './tagging.js';

const MS = 1_000_000n;

describe('watermarkDeadline', () => {
  it('is the newest sample ts plus the watermark', () => {
    expect(watermarkDeadline([{ ts: 5000n * MS }, { ts: 7000n * MS }], [{ timestampMs: 9000 }], 3000)).toBe(10_000);
  });
  it('uses the newest bus timestamp when the collector clock runs ahead of it', () => {
    expect(watermarkDeadline([{ ts: 99_000n * MS }], [{ timestampMs: 8000 }, { timestampMs: 9000 }], 3000)).toBe(12_000);
  });
  it('falls back to the sample ts when the bus gives no timestamp', () => {
    expect(watermarkDeadline([{ ts: 5000n * MS }], [{ timestampMs: NaN }], 0)).toBe(5000);
  });
});

describe('tagSamples', () => {
  it('fills run and partition, keeps what samples carry, and counts the samples it tagged', () => {
    const idx = new OwnershipIndex();
    idx.applyRun(validate('runs', [{ ts: 0n, run: 'r', experiment: 'e', workload: 'w', phase: 'start', nodes: 'n', node_count: 1, stack: 'linux', background: false, repetition: 1 }])[0]!);
    idx.applyPartition(validate('partitions', [{ ts: 0n, partition: 'p', node: 'n', driver: 'kvm', action: 'create', cpus: '0', mem_mb: 1 }])[0]!);
    const batch = validate('samples', [
      { ts: 10n, node: 'n', collector: 'c', seq: 0, idx: 0, source: 'perf', metric: 'm', value: 1, cpu: 0 },
      { ts: 10n, node: 'n', collector: 'c', seq: 0, idx: 1, source: 'perf', metric: 'm', value: 1, cpu: 0, run: 'mine' },
      { ts: 10n, node: 'other', collector: 'c', seq: 0, idx: 2, source: 'perf', metric: 'm', value: 1 },
    ]);
    expect(tagSamples(batch, idx)).toBe(2);
    expect(batch.map((s) => [s.run, s.partition])).toEqual([['r', 'p'], ['mine', 'p'], [null, null]]);
  });
});

describe('unmatchedSamples', () => {
  it('counts, per node, the samples no run took while a run was active, and nothing outside runs', () => {
    const idx = new OwnershipIndex();
    idx.applyRun(validate('runs', [{ ts: 100n, run: 'r', experiment: 'e', workload: 'w', phase: 'start', nodes: 'local', node_count: 1, stack: 'linux', background: false, repetition: 1 }])[0]!);
    idx.applyRun(validate('runs', [{ ts: 200n, run: 'r', experiment: 'e', workload: 'w', phase: 'end', nodes: 'local', node_count: 1, stack: 'linux', background: false, repetition: 1 }])[0]!);
    const batch = validate('samples', [
      { ts: 150n, node: 'local', collector: 'c', seq: 0, idx: 0, source: 'procfs', metric: 'm', value: 1, cpu: -1 },
      { ts: 150n, node: 'host-a', collector: 'h', seq: 0, idx: 1, source: 'procfs', metric: 'm', value: 1, cpu: -1 },
      { ts: 160n, node: 'host-a', collector: 'h', seq: 0, idx: 2, source: 'procfs', metric: 'm', value: 1, cpu: -1 },
      { ts: 300n, node: 'host-b', collector: 'h', seq: 0, idx: 3, source: 'procfs', metric: 'm', value: 1, cpu: -1 },
    ]);
    tagSamples(batch, idx);
    expect(unmatchedSamples(batch, idx)).toEqual([{ node: 'host-a', count: 2, active: [{ run: 'r', nodes: ['local'] }] }]);
  });
});
