/**
 * Where records end up: QuestDB (cluster mode, `store/questdb/`) or DuckDB (embedded mode,
 * `store/duckdb/`). Both create their tables from the one schema (schema/ddl/), both deduplicate a
 * re-delivered record on the record type's dedup keys, and `write` resolves only when the rows are
 * durable, which is what lets ingest commit bus offsets afterwards.
 */
import type { ColumnBatch } from '../schema/column-batch.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordName, RecordOf } from '../schema/records.js';

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
}

export interface QueryOptions {
  /** Rows returned at most; the result says whether it was cut. @default 10000 */
  limit?: number;
  /** Milliseconds before the statement is cancelled. @default 30000 */
  timeoutMs?: number;
}

export interface Store extends Lifecycle {
  readonly kind: 'questdb' | 'duckdb';
  /** Creates every record table if missing (called by start()). */
  ensureTables(): Promise<void>;
  /**
   * Writes records of one type; resolves once they are durable. Replays overwrite, never double.
   * Records may come as objects or by column (a ColumnBatch, ingest's hot path for samples).
   */
  write<N extends RecordName>(name: N, records: RecordOf<N>[] | ColumnBatch<N>): Promise<void>;
  /** Runs user SQL read-only: statements that change data or schema are refused. */
  query(sql: string, options?: QueryOptions): Promise<QueryResult & { truncated: boolean }>;
}
