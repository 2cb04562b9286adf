/** Unit tests of sequence-gap detection: gaps, replays, several collectors, staged state. */
import { describe, expect, it } from 'vitest';
import { validate } from '../schema/codec.js';
import { gapEvent, SeqGapTracker } from './seq-gaps.js';

const rec = (collector: string, seq: number, ts = BigInt(seq) * 1000n) => ({ collector, seq, node: 'n1', ts });

function feed(t: SeqGapTracker, topic: 'samples' | 'events', ...batches: ReturnType<typeof rec>[][]) {
  return batches.flatMap((b) => {
    const c = t.check(topic, b);
    c.commit();
    return c.gaps;
  });
}

describe('SeqGapTracker', () => {
  it('finds no gap in consecutive batches, many records per batch', () => {
    const t = new SeqGapTracker();
    expect(feed(t, 'samples', [rec('a', 0), rec('a', 0)], [rec('a', 1), rec('a', 1)], [rec('a', 2)])).toEqual([]);
  });
  it('records a jump with its range and size', () => {
    const t = new SeqGapTracker();
    expect(feed(t, 'samples', [rec('a', 4)], [rec('a', 5)], [rec('a', 9)])).toEqual([
      { topic: 'samples', collector: 'a', node: 'n1', fromSeq: 6, toSeq: 8, size: 3, ts: 9000n },
    ]);
  });
  it('takes the first batch seen as the baseline, whatever its seq', () => {
    expect(feed(new SeqGapTracker(), 'samples', [rec('a', 1000)])).toEqual([]);
  });
  it('treats repeated and lower seqs as replays, not gaps, and does not move back', () => {
    const t = new SeqGapTracker();
    expect(feed(t, 'samples', [rec('a', 1)], [rec('a', 2)], [rec('a', 2)], [rec('a', 0)], [rec('a', 3)])).toEqual([]);
    expect(feed(t, 'samples', [rec('a', 5)]).map((g) => [g.fromSeq, g.toSeq])).toEqual([[4, 4]]);
  });
  it('keeps collectors and topics apart', () => {
    const t = new SeqGapTracker();
    expect(feed(t, 'samples', [rec('a', 1), rec('b', 10)], [rec('b', 11), rec('a', 2)])).toEqual([]);
    expect(feed(t, 'events', [rec('a', 7)])).toEqual([]);
    expect(feed(t, 'events', [rec('a', 9)]).map((g) => [g.topic, g.collector, g.size])).toEqual([['events', 'a', 1]]);
  });
  it('finds a gap inside one bus batch and changes nothing until commit', () => {
    const t = new SeqGapTracker();
    feed(t, 'samples', [rec('a', 1)]);
    const first = t.check('samples', [rec('a', 2), rec('a', 4)]);
    expect(first.gaps.map((g) => g.fromSeq)).toEqual([3]);
    const again = t.check('samples', [rec('a', 2), rec('a', 4)]); // redelivered before commit
    expect(again.gaps).toEqual(first.gaps);
    again.commit();
    expect(t.check('samples', [rec('a', 5)]).gaps).toEqual([]);
  });
});

describe('gapEvent', () => {
  it('is a valid events record of kind seq_gap from source ingest, with the range in fields', () => {
    const [event] = validate('events', [gapEvent({ topic: 'samples', collector: 'n1/procfs', node: 'n1', fromSeq: 6, toSeq: 8, size: 3, ts: 9000n }, 1_800_000_000_000_000_000n)]);
    expect(event).toMatchObject({ source: 'ingest', kind: 'seq_gap', level: 'warning', collector: 'n1/procfs', seq: 9, idx: -1, ts: 9000n });
    expect(event!.fields).toEqual({ topic: 'samples', from_seq: 6, to_seq: 8, size: 3, detected_at: '2027-01-15T08:00:00.000000000Z' });
    expect(event!.message).toBe('Collector n1/procfs skipped 3 samples batches (seq 6..8).');
  });
});
