/**
 * Records → DuckDB data chunks, column by column, for the Appender's `append_data_chunk`. Numbers,
 * timestamps and validity go into typed arrays that are copied into each vector in one call; only
 * strings cost one native call per value. The row-by-row Appender costs one native call per field
 * (17 for a sample) and a value object per timestamp: the chunk path is the embedded store's hot
 * path (bench/embedded-drain.bench.ts). Values are checked as they are copied (a record that
 * bypassed validation is refused with its row and column, never stored as garbage).
 */
import duckdb from '@duckdb/node-bindings';
import { BIGINT, BOOLEAN, DOUBLE, DuckDBDataChunk, INTEGER, TIMESTAMP_NS, VARCHAR, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { Column, ColumnBatch } from '../../schema/column-batch.js';
import type { ColumnKind, ColumnSpec } from '../../schema/columns.js';
import { isoNanos } from './values.js';

/** Rows per chunk: DuckDB's vector size (2048). */
export const CHUNK_ROWS = duckdb.vector_size();

const MAX_TIMESTAMP_NS = 2n ** 63n - 1n;
const TWO_32 = 4294967296;

const TYPES: Record<ColumnKind, DuckDBType> = {
  timestamp: TIMESTAMP_NS,
  symbol: VARCHAR,
  string: VARCHAR,
  long: BIGINT,
  int: INTEGER,
  double: DOUBLE,
  boolean: BOOLEAN,
  json: VARCHAR,
};

/** One column's staging buffer: the values of one chunk, then copied into its vector. */
interface ColumnBuffer {
  name: string;
  spec: ColumnSpec;
  /** Fixed-width values (absent for strings, which are assigned one by one). */
  bytes: Uint8Array | null;
  validity: Uint8Array;
}

export class ChunkWriter {
  private readonly chunk: DuckDBDataChunk;
  private readonly buffers: ColumnBuffer[];

  constructor(columns: readonly (readonly [string, ColumnSpec])[]) {
    this.chunk = DuckDBDataChunk.create(columns.map(([, spec]) => TYPES[spec.kind]));
    const width = (kind: ColumnKind) => (kind === 'timestamp' || kind === 'long' || kind === 'double' ? 8 : kind === 'int' ? 4 : kind === 'boolean' ? 1 : 0);
    this.buffers = columns.map(([name, spec]) => ({
      name,
      spec,
      bytes: width(spec.kind) ? new Uint8Array(new ArrayBuffer(CHUNK_ROWS * width(spec.kind))) : null,
      validity: new Uint8Array(CHUNK_ROWS / 8),
    }));
  }

  /**
   * Appends `records[from..to)` (at most CHUNK_ROWS) to `appender` as one chunk.
   * Throws `record i, column c: reason` for a value the column cannot hold.
   */
  append(appender: DuckDBAppender, records: readonly Record<string, unknown>[], from: number, to: number): void {
    const n = to - from;
    const raw = this.chunk.chunk;
    duckdb.data_chunk_reset(raw);
    for (let c = 0; c < this.buffers.length; c++) {
      const b = this.buffers[c]!;
      const vector = duckdb.data_chunk_get_vector(raw, c);
      const nulls = fill(b, vector, records, from, n);
      if (b.bytes) duckdb.copy_data_to_vector(vector, 0, b.bytes.buffer as ArrayBuffer, 0, n * (b.bytes.byteLength / CHUNK_ROWS));
      if (nulls > 0) {
        duckdb.vector_ensure_validity_writable(vector);
        duckdb.copy_data_to_vector_validity(vector, 0, b.validity.buffer as ArrayBuffer, 0, Math.ceil(n / 64) * 8);
      }
    }
    duckdb.data_chunk_set_size(raw, n);
    appender.appendDataChunk(this.chunk);
  }

  /**
   * The same for records held by column (at most CHUNK_ROWS; `base`: the first one's index in the
   * write, for error messages). Each column is filled segment by segment: a constant in one call
   * (`fill`), a run in a loop of additions, an array in a loop without property lookups; a column
   * no record has is all NULL in one call. Only strings still cost one native call per value.
   */
  appendColumns(appender: DuckDBAppender, batch: ColumnBatch, base = 0): void {
    const n = batch.n;
    const raw = this.chunk.chunk;
    duckdb.data_chunk_reset(raw);
    for (let c = 0; c < this.buffers.length; c++) {
      const b = this.buffers[c]!;
      const vector = duckdb.data_chunk_get_vector(raw, c);
      let nulls = 0;
      let at = 0;
      for (const seg of batch.segments) {
        nulls += fillSegment(b, vector, seg.cols[c] ?? null, at, seg.n, nulls === 0, base);
        at += seg.n;
      }
      if (b.bytes) duckdb.copy_data_to_vector(vector, 0, b.bytes.buffer as ArrayBuffer, 0, n * (b.bytes.byteLength / CHUNK_ROWS));
      if (nulls > 0) {
        duckdb.vector_ensure_validity_writable(vector);
        duckdb.copy_data_to_vector_validity(vector, 0, b.validity.buffer as ArrayBuffer, 0, Math.ceil(n / 64) * 8);
      }
    }
    duckdb.data_chunk_set_size(raw, n);
    appender.appendDataChunk(this.chunk);
  }
}

/** One value's check and conversion by column kind (what `fill` does per record), for column forms. */
function checkValue(kind: ColumnKind, v: unknown): void {
  switch (kind) {
    case 'timestamp':
      if (typeof v !== 'bigint') throw new Error(`expected integer nanoseconds as a bigint, got ${typeof v}`);
      if (v >= MAX_TIMESTAMP_NS || v < -MAX_TIMESTAMP_NS) throw new Error(`expected nanoseconds before ${isoNanos(MAX_TIMESTAMP_NS)} (the TIMESTAMP_NS range), got ${v}`);
      return;
    case 'long': if (!Number.isSafeInteger(v)) throw new Error(`expected an integer within ±2^53, got ${String(v)}`); return;
    case 'int': if (typeof v !== 'number' || (v | 0) !== v) throw new Error(`expected a 32-bit integer, got ${String(v)}`); return;
    case 'double': if (typeof v !== 'number') throw new Error(`expected a number, got ${typeof v}`); return;
    case 'boolean': if (typeof v !== 'boolean') throw new Error(`expected true or false, got ${String(v)}`); return;
    case 'symbol':
    case 'string': if (typeof v !== 'string') throw new Error(`expected a string, got ${typeof v}`); return;
    case 'json': return;
  }
}

/**
 * Copies rows [at, at + n) of one column from a segment's column into the buffer (strings straight
 * into the vector); returns the nulls. `clean`: no null was marked in this chunk's validity yet.
 */
function fillSegment(b: ColumnBuffer, vector: duckdb.Vector, col: Column | null, at: number, n: number, clean: boolean, base: number): number {
  const { name, spec, validity } = b;
  const nullRange = (): number => {
    if (clean) validity.fill(0xff);
    for (let i = at; i < at + n; i++) validity[i >> 3]! &= ~(1 << (i & 7));
    return n;
  };
  if (n === 0) return 0;
  if (col === null || ('c' in col && (col.c === null || col.c === undefined))) return nullRange();
  let row = at;
  try {
    if ('c' in col) {
      const v = col.c;
      checkValue(spec.kind, v);
      switch (spec.kind) {
        case 'timestamp': new BigInt64Array(b.bytes!.buffer).fill(v as bigint, at, at + n); break;
        case 'long': {
          const out = new Int32Array(b.bytes!.buffer);
          const lo = (v as number) | 0;
          const hi = Math.floor((v as number) / TWO_32);
          for (let i = at; i < at + n; i++) {
            out[2 * i] = lo;
            out[2 * i + 1] = hi;
          }
          break;
        }
        case 'int': new Int32Array(b.bytes!.buffer).fill(v as number, at, at + n); break;
        case 'double': new Float64Array(b.bytes!.buffer).fill(v as number, at, at + n); break;
        case 'boolean': b.bytes!.fill(v ? 1 : 0, at, at + n); break;
        case 'symbol':
        case 'string':
          for (; row < at + n; row++) duckdb.vector_assign_string_element(vector, row, v as string);
          break;
        case 'json': {
          const text = JSON.stringify(v);
          for (; row < at + n; row++) duckdb.vector_assign_string_element(vector, row, text);
          break;
        }
      }
      return 0;
    }
    if ('r' in col) {
      checkValue(spec.kind, col.r);
      checkValue(spec.kind, col.r + n - 1);
      const k = col.r - at;
      if (spec.kind === 'int') {
        const out = new Int32Array(b.bytes!.buffer);
        for (let i = at; i < at + n; i++) out[i] = k + i;
      } else if (spec.kind === 'long') {
        const out = new Int32Array(b.bytes!.buffer);
        for (let i = at; i < at + n; i++) {
          const x = k + i;
          out[2 * i] = x | 0;
          out[2 * i + 1] = Math.floor(x / TWO_32);
        }
      } else if (spec.kind === 'double') {
        const out = new Float64Array(b.bytes!.buffer);
        for (let i = at; i < at + n; i++) out[i] = k + i;
      } else throw new Error(`a run of integers cannot fill a ${spec.kind} column`);
      return 0;
    }
    // One value per record: the record path's loop over an array, offset by `at`.
    const values = col.a;
    let nulls = 0;
    const absent = (i: number) => {
      if (clean && nulls === 0) validity.fill(0xff);
      nulls++;
      validity[i >> 3]! &= ~(1 << (i & 7));
    };
    switch (spec.kind) {
      case 'timestamp': {
        const out = new BigInt64Array(b.bytes!.buffer);
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else {
            if (typeof v !== 'bigint' || v >= MAX_TIMESTAMP_NS || v < -MAX_TIMESTAMP_NS) checkValue('timestamp', v);
            out[row] = v as bigint;
          }
        }
        break;
      }
      case 'double': {
        const out = new Float64Array(b.bytes!.buffer);
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'number') checkValue('double', v);
          else out[row] = v;
        }
        break;
      }
      case 'int': {
        const out = new Int32Array(b.bytes!.buffer);
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'number' || (v | 0) !== v) checkValue('int', v);
          else out[row] = v;
        }
        break;
      }
      case 'long': {
        const out = new Int32Array(b.bytes!.buffer);
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else {
            checkValue('long', v);
            out[2 * row] = (v as number) | 0;
            out[2 * row + 1] = Math.floor((v as number) / TWO_32);
          }
        }
        break;
      }
      case 'boolean': {
        const out = b.bytes!;
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else {
            checkValue('boolean', v);
            out[row] = v ? 1 : 0;
          }
        }
        break;
      }
      case 'symbol':
      case 'string':
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'string') checkValue('string', v);
          else duckdb.vector_assign_string_element(vector, row, v);
        }
        break;
      case 'json':
        for (; row < at + n; row++) {
          const v = values[row - at];
          if (v === null || v === undefined) absent(row);
          else duckdb.vector_assign_string_element(vector, row, JSON.stringify(v));
        }
        break;
    }
    return nulls;
  } catch (err) {
    throw new Error(`record ${base + row}, column ${name}: ${(err as Error).message}`);
  }
}

/** Copies one column of rows into its buffer (strings straight into the vector); returns the nulls. */
function fill(b: ColumnBuffer, vector: duckdb.Vector, records: readonly Record<string, unknown>[], from: number, n: number): number {
  const { name, spec, validity } = b;
  let nulls = 0;
  let row = 0;
  const absent = (i: number) => {
    if (nulls === 0) validity.fill(0xff);
    nulls++;
    validity[i >> 3]! &= ~(1 << (i & 7));
  };
  try {
    switch (spec.kind) {
      case 'timestamp': {
        const out = new BigInt64Array(b.bytes!.buffer);
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'bigint') throw new Error(`expected integer nanoseconds as a bigint, got ${typeof v}`);
          else if (v >= MAX_TIMESTAMP_NS || v < -MAX_TIMESTAMP_NS) throw new Error(`expected nanoseconds before ${isoNanos(MAX_TIMESTAMP_NS)} (the TIMESTAMP_NS range), got ${v}`);
          else out[row] = v;
        }
        break;
      }
      case 'long': {
        // Two 32-bit halves (little-endian) instead of a BigInt per value.
        const out = new Int32Array(b.bytes!.buffer);
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else if (!Number.isSafeInteger(v)) throw new Error(`expected an integer within ±2^53, got ${String(v)}`);
          else {
            const x = v as number;
            out[2 * row] = x | 0; // the low 32 bits of x modulo 2^32, as int32
            out[2 * row + 1] = Math.floor(x / TWO_32);
          }
        }
        break;
      }
      case 'int': {
        const out = new Int32Array(b.bytes!.buffer);
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'number' || (v | 0) !== v) throw new Error(`expected a 32-bit integer, got ${String(v)}`);
          else out[row] = v;
        }
        break;
      }
      case 'double': {
        const out = new Float64Array(b.bytes!.buffer);
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'number') throw new Error(`expected a number, got ${typeof v}`);
          else out[row] = v;
        }
        break;
      }
      case 'boolean': {
        const out = b.bytes!;
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'boolean') throw new Error(`expected true or false, got ${String(v)}`);
          else out[row] = v ? 1 : 0;
        }
        break;
      }
      case 'symbol':
      case 'string':
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else if (typeof v !== 'string') throw new Error(`expected a string, got ${typeof v}`);
          else duckdb.vector_assign_string_element(vector, row, v);
        }
        break;
      case 'json':
        for (; row < n; row++) {
          const v = records[from + row]![name];
          if (v === null || v === undefined) absent(row);
          else duckdb.vector_assign_string_element(vector, row, JSON.stringify(v));
        }
        break;
    }
  } catch (err) {
    throw new Error(`record ${from + row}, column ${name}: ${(err as Error).message}`);
  }
  return nulls;
}
