/**
 * Sequence gaps as data: per (collector, topic) the highest batch `seq` seen; a jump by more than
 * one becomes an `events` row of kind `seq_gap` from source `ingest`, so loss upstream is visible in
 * SQL. A repeated or lower seq is a replay, not a gap. State lives in memory: the first batch of a
 * collector after ingest starts sets its baseline (a gap across an ingest restart is not seen).
 */
import { nsToIso } from '../core/clock.js';
import type { Event } from '../schema/records.js';

/** One missing run of batch sequence numbers. */
export interface SeqGap {
  topic: 'samples' | 'events';
  collector: string;
  /** Node of the batch that revealed the gap. */
  node: string;
  /** First and last missing seq, inclusive. */
  fromSeq: number;
  toSeq: number;
  size: number;
  /** `ts` of the first record of the batch that revealed the gap. */
  ts: bigint;
}

/** What a batch revealed; `commit` makes it the new state once the batch is durably written. */
export interface GapCheck {
  gaps: SeqGap[];
  commit(): void;
}

export class SeqGapTracker {
  private readonly last = new Map<string, number>();

  /** Compares the records' seqs with what was seen before, without changing the state yet. */
  check(topic: SeqGap['topic'], records: readonly { collector: string; seq: number; node: string; ts: bigint }[]): GapCheck {
    const staged = new Map<string, number>();
    const gaps: SeqGap[] = [];
    let prevCollector: string | null = null;
    let prevSeq = NaN;
    for (const r of records) {
      // A batch's records share collector and seq: only a change can tell anything new.
      if (r.collector === prevCollector && r.seq === prevSeq) continue;
      prevCollector = r.collector;
      prevSeq = r.seq;
      const key = `${topic}\u0000${r.collector}`;
      const last = staged.get(key) ?? this.last.get(key);
      if (last !== undefined && r.seq <= last) continue;
      if (last !== undefined && r.seq > last + 1) {
        gaps.push({ topic, collector: r.collector, node: r.node, fromSeq: last + 1, toSeq: r.seq - 1, size: r.seq - last - 1, ts: r.ts });
      }
      staged.set(key, r.seq);
    }
    return { gaps, commit: () => staged.forEach((seq, key) => this.last.set(key, seq)) };
  }
}

/**
 * The `events` row recording a gap. Its dedup key is deterministic (ts and seq of the revealing
 * batch, idx -1 for samples and -2 for events), so a replay that reveals the gap again overwrites it.
 */
export function gapEvent(gap: SeqGap, detectedAtNs: bigint): Event {
  return {
    ts: gap.ts,
    node: gap.node,
    collector: gap.collector,
    seq: gap.toSeq + 1,
    idx: gap.topic === 'samples' ? -1 : -2,
    source: 'ingest',
    level: 'warning',
    kind: 'seq_gap',
    partition: null,
    run: null,
    vm: null,
    vcore: null,
    pcore: null,
    message: `Collector ${gap.collector} skipped ${gap.size} ${gap.topic} batch${gap.size === 1 ? '' : 'es'} (seq ${gap.fromSeq}..${gap.toSeq}).`,
    fields: { topic: gap.topic, from_seq: gap.fromSeq, to_seq: gap.toSeq, size: gap.size, detected_at: nsToIso(detectedAtNs) },
    raw: null,
  };
}
