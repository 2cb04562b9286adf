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
