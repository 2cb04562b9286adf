/** Column-wise tagging gives what record-wise tagging gives, sample for sample. */
import { describe, expect, it } from 'vitest';
import { decodeColumns, encode, validate } from '../schema/codec.js';
import { batchOf, columnIndex, segmentOf, toRecords, type Segment } from '../schema/column-batch.js';
import type { RecordInput, Sample } from '../schema/records.js';
import { OwnershipIndex } from './ownership.js';
import { newestTs, seqKeys, tagSegment, unmatchedInSegments } from './tag-columns.js';
import { tagSamples, unmatchedSamples } from './tagging.js';

function index(): OwnershipIndex {
  const idx = new OwnershipIndex();
  idx.applyRun(validate('runs', [{ ts: 0n, run: 'r', experiment: 'e', workload: 'w', phase: 'start', nodes: 'n', node_count: 1, stack: 'linux', background: false, repetition: 1 }])[0]!);
  idx.applyRun(validate('runs', [{ ts: 0n, run: 'q', experiment: 'e', workload: 'w', phase: 'start', nodes: 'elsewhere', node_count: 1, stack: 'linux', background: false, repetition: 1 }])[0]!);
  idx.applyPartition(validate('partitions', [{ ts: 0n, partition: 'p', node: 'n', driver: 'kvm', action: 'create', cpus: '0-1', mem_mb: 1 }])[0]!);
  idx.applyPartition(validate('partitions', [{ ts: 20n, partition: 'p', node: 'n', driver: 'kvm', action: 'resize', cpus: '0', mem_mb: 1 }])[0]!);
  return idx;
}

/** A collector batch (node and ts constant, CPU varying) and a mixed one (as a v1 message or a bad one would come). */
const collector: RecordInput<'samples'>[] = Array.from({ length: 12 }, (_, i) => ({ ts: 25n, node: 'n', collector: 'n/perf', seq: 3, idx: i, source: 'perf', metric: `m${i % 3}`, value: i, cpu: (i % 4) - 1 }));
const mixed: RecordInput<'samples'>[] = [
  { ts: 10n, node: 'n', collector: 'c', seq: 0, idx: 0, source: 'perf', metric: 'm', value: 1, cpu: 1 },
  { ts: 10n, node: 'n', collector: 'c', seq: 0, idx: 1, source: 'perf', metric: 'm', value: 1, cpu: 0, run: 'mine' },
  { ts: 30n, node: 'n', collector: 'c', seq: 1, idx: 0, source: 'perf', metric: 'm', value: 1, cpu: 1, partition: 'own' },
  { ts: 10n, node: 'other', collector: 'd', seq: 0, idx: 2, source: 'perf', metric: 'm', value: 1 },
  { ts: 40n, node: 'other', collector: 'd', seq: 0, idx: 3, source: 'perf', metric: 'm', value: 1 },
];

const cases: [string, () => Segment][] = [
  ['a v2 collector batch', () => decodeColumns(encode('samples', collector), 'samples').segment!],
  ['records turned to columns', () => segmentOf('samples', validate('samples', mixed) as unknown as Record<string, unknown>[])],
  // A node no run or partition names (the shortcut without a loop), and one that carries its own run.
  ['a v2 collector batch of a node nobody named', () => decodeColumns(encode('samples', collector.map((s) => ({ ...s, node: 'stranger' }))), 'samples').segment!],
  ['a v2 collector batch of a node nobody named, with its own run', () => decodeColumns(encode('samples', collector.map((s) => ({ ...s, node: 'stranger', run: 'own' }))), 'samples').segment!],
];

describe('tagSegment', () => {
  it.each(cases)('tags %s as tagSamples tags its records, and counts alike', (_what, make) => {
    const seg = make();
    const records = toRecords(batchOf('samples', [seg])) as Sample[];
    const idx = index();
    const tagged = tagSamples(records, idx);
    const got = tagSegment(seg, idx);
    expect(got.tagged).toBe(tagged);
    expect(toRecords(batchOf('samples', [got.segment])).map((s) => [s.run ?? null, s.partition ?? null])).toEqual(records.map((s) => [s.run, s.partition]));
    expect(unmatchedInSegments([got.segment], idx)).toEqual(unmatchedSamples(records, idx));
  });

  it('leaves a constant run column when every sample got the same run', () => {
    const seg = tagSegment(decodeColumns(encode('samples', collector), 'samples').segment!, index()).segment;
    expect(seg.cols[columnIndex('samples', 'run')]).toEqual({ c: 'r' });
    expect(seg.cols[columnIndex('samples', 'partition')]).toMatchObject({ a: expect.any(Array) }); // by CPU
  });
});

describe('newestTs and seqKeys', () => {
  it('read a segment as the watermark and the gap check read records', () => {
    const seg = segmentOf('samples', validate('samples', mixed) as unknown as Record<string, unknown>[]);
    expect(newestTs(seg)).toBe(40n);
    expect(seqKeys(seg).map((k) => [k.collector, k.seq, k.node, k.ts])).toEqual([['c', 0, 'n', 10n], ['c', 1, 'n', 30n], ['d', 0, 'other', 10n]]);
    const v2 = decodeColumns(encode('samples', collector), 'samples').segment!;
    expect(newestTs(v2)).toBe(25n);
    expect(seqKeys(v2)).toEqual([{ collector: 'n/perf', seq: 3, node: 'n', ts: 25n }]);
  });
});
