/**
 * Apache Arrow IPC stream of a query result (`application/vnd.apache.arrow.stream`), for notebooks
 * (`pyarrow.ipc.open_stream`, `pl.read_ipc_stream`). Timestamps keep their nanoseconds
 * (Timestamp<NANOSECOND>, UTC), 64-bit integers stay exact (Int64).
 */
import { Bool, Float64, Int32, Int64, Table, TimestampNanosecond, Utf8, makeData, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import type { QueryResult } from '../../store/store.js';
import { cell, classify, type ColumnClass } from './columns.js';

function column(values: unknown[], cls: ColumnClass): Vector {
  switch (cls) {
    case 'bool': return vectorFromArray(values as (boolean | null)[], new Bool());
    case 'int64': return fixed(values, new Int64(), BigInt64Array);
    case 'int32': return fixed(values, new Int32(), Int32Array);
    case 'float64': return fixed(values, new Float64(), Float64Array);
    // Arrow JS's timestamp builder takes milliseconds; the ns values go in as raw data.
    case 'timestamp': return fixed(values, new TimestampNanosecond('UTC'), BigInt64Array);
    default: return utf8(values as (string | null)[]);
  }
}

type FixedArray = Float64Array | Int32Array | BigInt64Array;

/** A fixed-width column built from its values and a validity bitmap (no per-value builder calls). */
function fixed(values: unknown[], type: Int64 | Int32 | Float64 | TimestampNanosecond, Typed: new (n: number) => FixedArray): Vector {
  const n = values.length;
  const data = new Typed(n);
  const validity = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nulls++;
    else {
      validity[i >> 3]! |= 1 << (i & 7);
      (data as unknown as unknown[])[i] = v;
    }
  }
  return makeVector(makeData({ type, length: n, nullCount: nulls, nullBitmap: nulls ? validity : null, data } as never));
}

const encoder = new TextEncoder();

/** Utf8 built directly (offsets + bytes + validity): ~10× faster than vectorFromArray for text. */
function utf8(values: (string | null)[]): Vector {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const validity = new Uint8Array((n + 7) >> 3);
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nulls++;
    else {
      validity[i >> 3]! |= 1 << (i & 7);
      const b = encoder.encode(v);
      parts.push(b);
      bytes += b.length;
    }
    offsets[i + 1] = bytes;
  }
  const data = new Uint8Array(bytes);
  let at = 0;
  for (const b of parts) (data.set(b, at), (at += b.length));
  return makeVector(makeData({ type: new Utf8(), length: n, nullCount: nulls, nullBitmap: nulls ? validity : null, valueOffsets: offsets, data }));
}

/** Column names must be unique in an Arrow schema: later duplicates get `_2`, `_3`, … */
export function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}_${k}`;
  });
}

export function toArrowStream(result: QueryResult): Uint8Array {
  const names = uniqueNames(result.columns.map((c) => c.name));
  const vectors: Record<string, Vector> = {};
  result.columns.forEach((c, i) => {
    const cls = classify(c.type);
    vectors[names[i]!] = column(result.rows.map((r) => cell(r[i], cls)), cls);
  });
  return tableToIPC(new Table(vectors), 'stream');
}
