/** Column batches: decoded v2 messages as columns, cut and read back as the records they hold. */
import { describe, expect, it } from 'vitest';
import { decode, decodeColumns, encode, encodeV1 } from './codec.js';
import { batchOf, segmentOf, sliceBatch, timestampsOf, toRecords, type Segment } from './column-batch.js';
import type { RecordInput } from './records.js';

const batch = (seq: number, n: number): RecordInput<'samples'>[] =>
  Array.from({ length: n }, (_, idx) => ({ ts: 1000n + BigInt(seq), node: 'n', collector: 'n/perf', seq, idx, source: 'perf', metric: `m${idx % 3}`, value: idx * 0.5, ...(idx % 2 ? { cgroup: '/x' } : {}) }));

describe('decodeColumns', () => {
  it('gives a valid v2 message as columns (constants, runs, arrays) holding the records decode gives', () => {
    const body = encode('samples', batch(4, 5));
    const d = decodeColumns(body, 'samples');
    expect(d.records).toEqual([]);
    expect(d.errors).toEqual([]);
    expect(d.segment!.cols[0]).toEqual({ c: 1004n }); // ts
    expect(d.segment!.cols[4]).toEqual({ r: 0 }); // idx
    expect(d.segment!.cols[8]).toEqual({ c: -1 }); // cpu: its default, once
    expect(toRecords(batchOf('samples', [d.segment!]))).toEqual(decode(body, 'samples').records);
  });

  it('gives v1 and bad messages as records and reasons, exactly as decode', () => {
    const v1 = encodeV1('samples', batch(1, 3));
    expect(decodeColumns(v1, 'samples')).toMatchObject({ ...decode(v1, 'samples'), segment: null });
    const bad = encode('samples', [...batch(2, 2), { ...batch(2, 3)[2]!, value: 'x' as unknown as number }]);
    const d = decodeColumns(bad, 'samples');
    expect(d.segment).toBeNull();
    expect(d.records).toHaveLength(2);
    expect(d.errors).toEqual(decode(bad, 'samples').errors);
    expect(d.errors[0]!.reason).toMatch(/^records\[2\]\.value: /);
  });
});

describe('sliceBatch and timestampsOf', () => {
  it('cuts across segments and keeps every record once, in order', () => {
    const segs: Segment[] = [batch(1, 4), batch(2, 3), batch(3, 5)].map((b) => decodeColumns(encode('samples', b), 'samples').segment!);
    segs.push(segmentOf('samples', decode(encode('samples', batch(4, 2)), 'samples').records as unknown as Record<string, unknown>[]));
    const all = batchOf('samples', segs);
    expect(all.n).toBe(14);
    const whole = toRecords(all);
    for (const [from, to] of [[0, 14], [0, 1], [3, 5], [4, 12], [11, 14], [6, 6]] as const) {
      const cut = sliceBatch(all, from, to);
      expect(cut.n).toBe(to - from);
      expect(toRecords(cut)).toEqual(whole.slice(from, to));
    }
    const ts = timestampsOf(all);
    expect([ts.lo, ts.hi, [...ts.distinct]]).toEqual([1001n, 1004n, [1001n, 1002n, 1003n, 1004n]]);
  });
});
