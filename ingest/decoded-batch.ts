/**
 * A delivered batch decoded, message by message, in the form it is written in: samples by column
 * (one segment per message, no record object on the hot path: issue 16), every other record type
 * as records. A samples message that is not a valid version-2 message (version 1, or one with a bad
 * record, whose reasons go to its dead letter as before) has its valid records turned into a
 * segment, so a batch is written in one form whatever its messages were.
 */
import type { BusMessage, DeliveredBatch } from '../bus/bus.js';
import { batchOf, segmentOf, type ColumnBatch, type Segment } from '../schema/column-batch.js';
import { decode, decodeColumns } from '../schema/codec.js';
import type { RecordName, RecordOf } from '../schema/records.js';
import { deadLetter } from './dead-letter.js';
import type { OwnershipIndex } from './ownership.js';
import { newestTs, seqKeys, tagSegment, unmatchedInSegments } from './tag-columns.js';
import { tagSamples, unmatchedSamples, type Unmatched } from './tagging.js';

/** What the sequence-gap check reads of a batch. */
export type SeqKey = { collector: string; seq: number; node: string; ts: bigint };

export interface DecodedBatch {
  /** Dead letters by message index (a refused write replaces a message's decode letter). */
  readonly letters: Map<number, BusMessage>;
  /** Records of messages first..last. */
  count(first: number, last: number): number;
  /** Messages first..last as the store takes them. */
  rows(first: number, last: number): RecordOf<RecordName>[] | ColumnBatch;
  /** The newest sample ts of message i (samples only; null when it has none). */
  newestTs(i: number): bigint | null;
  /** Fills in run and partition of messages first..last (samples only). */
  tag(first: number, last: number, index: OwnershipIndex): { tagged: number; unmatched: Unmatched[] };
  /** (collector, seq) of the records, in order, one entry per change (samples and events). */
  seqKeys(): SeqKey[];
}

export function decodeBatch(batch: DeliveredBatch, topic: RecordName): DecodedBatch {
  return topic === 'samples' ? new SampleColumns(batch) : new Records(batch, topic);
}

/** Samples by column, one segment per message. */
class SampleColumns implements DecodedBatch {
  readonly letters = new Map<number, BusMessage>();
  private readonly segments: Segment[];

  constructor(batch: DeliveredBatch) {
    this.segments = batch.messages.map((m, i) => {
      const d = decodeColumns(m.value, 'samples');
      if (d.errors.length > 0) this.letters.set(i, deadLetter(m, d.errors));
      return d.segment ?? segmentOf('samples', d.records as unknown as Record<string, unknown>[]);
    });
  }

  count(first: number, last: number): number {
    let n = 0;
    for (let i = first; i <= last; i++) n += this.segments[i]!.n;
    return n;
  }

  rows(first: number, last: number): ColumnBatch {
    return batchOf('samples', this.segments.slice(first, last + 1));
  }

  newestTs(i: number): bigint | null {
    return newestTs(this.segments[i]!);
  }

  tag(first: number, last: number, index: OwnershipIndex): { tagged: number; unmatched: Unmatched[] } {
    let tagged = 0;
    for (let i = first; i <= last; i++) {
      const t = tagSegment(this.segments[i]!, index);
      this.segments[i] = t.segment;
      tagged += t.tagged;
    }
    return { tagged, unmatched: unmatchedInSegments(this.segments.slice(first, last + 1), index) };
  }

  seqKeys(): SeqKey[] {
    return this.segments.flatMap(seqKeys);
  }
}

/** Records of any other type (and the record path's reference for samples). */
class Records implements DecodedBatch {
  readonly letters = new Map<number, BusMessage>();
  private readonly records: RecordOf<RecordName>[] = [];
  /** Where each message's records start in `records` (message i: starts[i] .. starts[i + 1]). */
  private readonly starts: number[] = [];

  constructor(batch: DeliveredBatch, topic: RecordName) {
    batch.messages.forEach((m, i) => {
      this.starts.push(this.records.length);
      const decoded = decode(m.value, topic);
      for (const r of decoded.records) this.records.push(r);
      if (decoded.errors.length > 0) this.letters.set(i, deadLetter(m, decoded.errors));
    });
    this.starts.push(this.records.length);
  }

  count(first: number, last: number): number {
    return this.starts[last + 1]! - this.starts[first]!;
  }

  rows(first: number, last: number): RecordOf<RecordName>[] {
    return this.records.slice(this.starts[first], this.starts[last + 1]);
  }

  newestTs(i: number): bigint | null {
    let newest: bigint | null = null;
    for (let k = this.starts[i]!; k < this.starts[i + 1]!; k++) {
      const t = (this.records[k] as { ts: bigint }).ts;
      if (newest === null || t > newest) newest = t;
    }
    return newest;
  }

  tag(first: number, last: number, index: OwnershipIndex): { tagged: number; unmatched: Unmatched[] } {
    const samples = this.rows(first, last) as RecordOf<'samples'>[];
    return { tagged: tagSamples(samples, index), unmatched: unmatchedSamples(samples, index) };
  }

  seqKeys(): SeqKey[] {
    return this.records as unknown as SeqKey[];
  }
}
