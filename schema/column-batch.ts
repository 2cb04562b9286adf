/**
 * Records of one type held column by column, as a version-2 message carries them: the hot path from
 * a columnar bus message to the store builds no object per record (issue 16). A batch is a list of
 * segments, one per bus message; each segment holds its columns in schema order, each column a
 * constant (`{c}`: a collector batch shares ts, node, collector, seq …), a run of integers k, k+1 …
 * (`{r}`: idx), or n values (`{a}`, null = no value); null for a column no record has. Values are
 * validated already and in memory form (timestamps bigint), as in a decoded record.
 *
 * Readers loop over segments and switch on the column's form once per segment, not per value.
 */
import { definitionOf, type RecordName, type RecordOf } from './records.js';

/** One column of a segment: a constant, a run of consecutive integers from `r`, or one value per record. */
export type Column = { readonly c: unknown } | { readonly r: number } | { readonly a: readonly unknown[] };

/** The records of one bus message. `cols[k]` is the schema's k-th column (null: no record has it). */
export interface Segment {
  readonly n: number;
  readonly cols: readonly (Column | null)[];
}

/** Records of one type, by column, in segments. Readers tell it from a record array by `Array.isArray`. */
export interface ColumnBatch<N extends RecordName = RecordName> {
  readonly type: N;
  readonly segments: readonly Segment[];
  /** Records in all segments. */
  readonly n: number;
}

/** The schema's column names of a type, in the order of `Segment.cols`. */
const names = new Map<RecordName, readonly string[]>();
export function columnNames(type: RecordName): readonly string[] {
  let list = names.get(type);
  if (!list) names.set(type, (list = Object.keys(definitionOf(type).columns)));
  return list;
}

/** Where a column is in `Segment.cols`, e.g. columnIndex('samples', 'ts') === 0. */
export function columnIndex(type: RecordName, name: string): number {
  const k = columnNames(type).indexOf(name);
  if (k < 0) throw new Error(`${type} records have no column "${name}"`);
  return k;
}

/** Record i's value of a column (null when it has none). For occasional reads: loops switch on the form. */
export function valueAt(col: Column | null, i: number): unknown {
  if (col === null) return null;
  if ('a' in col) return col.a[i] ?? null;
  if ('r' in col) return col.r + i;
  return col.c;
}

/** A column whose values are all `v` when they are, else the array (what tagging writes back). */
export function compact(values: unknown[]): Column {
  const first = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return { a: values };
  return { c: first ?? null };
}

export function batchOf<N extends RecordName>(type: N, segments: readonly Segment[]): ColumnBatch<N> {
  let n = 0;
  for (const s of segments) n += s.n;
  return { type, segments, n };
}

/** Records (validated) as one segment: the slow path's messages (version 1, or one with a bad record). */
export function segmentOf(type: RecordName, records: readonly Record<string, unknown>[]): Segment {
  const cols = columnNames(type).map((name): Column | null => {
    let present = false;
    const values = new Array<unknown>(records.length);
    for (let i = 0; i < records.length; i++) {
      const v = records[i]![name];
      if (v === undefined || v === null) values[i] = null;
      else {
        values[i] = v;
        present = true;
      }
    }
    return present ? { a: values } : null;
  });
  return { n: records.length, cols };
}

/** The batch as records (for paths that are not hot: the staging of tables with an old primary key, tests). */
export function toRecords<N extends RecordName>(batch: ColumnBatch<N>): RecordOf<N>[] {
  const list = columnNames(batch.type);
  const out: Record<string, unknown>[] = [];
  for (const seg of batch.segments) {
    for (let i = 0; i < seg.n; i++) {
      const r: Record<string, unknown> = {};
      for (let k = 0; k < list.length; k++) {
        const col = seg.cols[k];
        if (col) r[list[k]!] = valueAt(col, i);
      }
      out.push(r);
    }
  }
  return out as RecordOf<N>[];
}

/**
 * The segments holding records [from, to) of the batch, cut where needed (a store request or
 * chunk boundary falls inside a message).
 */
export function sliceBatch<N extends RecordName>(batch: ColumnBatch<N>, from: number, to: number): ColumnBatch<N> {
  if (from === 0 && to >= batch.n) return batch;
  const out: Segment[] = [];
  let start = 0;
  for (const seg of batch.segments) {
    const end = start + seg.n;
    if (end > from && start < to) {
      const a = Math.max(from, start) - start;
      const b = Math.min(to, end) - start;
      out.push(a === 0 && b === seg.n ? seg : sliceSegment(seg, a, b));
    }
    start = end;
    if (start >= to) break;
  }
  return batchOf(batch.type, out);
}

function sliceSegment(seg: Segment, a: number, b: number): Segment {
  return {
    n: b - a,
    cols: seg.cols.map((col) => (col === null || 'c' in col ? col : 'r' in col ? { r: col.r + a } : { a: col.a.slice(a, b) })),
  };
}

/** The smallest and largest value of a timestamp column over the batch, and its distinct values up to `listUpTo` + 1. */
export function timestampsOf(batch: ColumnBatch, column = 'ts', listUpTo = Infinity): { lo: bigint; hi: bigint; distinct: Set<bigint> } {
  const k = columnIndex(batch.type, column);
  let lo: bigint | null = null;
  let hi: bigint | null = null;
  const distinct = new Set<bigint>();
  const see = (t: bigint) => {
    if (lo === null || t < lo) lo = t;
    if (hi === null || t > hi) hi = t;
    if (distinct.size <= listUpTo) distinct.add(t);
  };
  for (const seg of batch.segments) {
    const col = seg.cols[k];
    if (!col || seg.n === 0) continue;
    if ('c' in col) {
      if (typeof col.c === 'bigint') see(col.c);
      continue;
    }
    if (!('a' in col)) continue;
    let prev: unknown = null;
    for (const t of col.a) {
      if (typeof t === 'bigint' && t !== prev) see(t); // runs of one ts cost one look
      prev = t;
    }
  }
  if (lo === null || hi === null) throw new Error(`no ${batch.type} record of this batch has a ${column}`);
  return { lo, hi, distinct };
}
