/**
 * Parquet of a query result, written by a private in-memory DuckDB (its Parquet writer is built in,
 * no extension is fetched): the rows go in through an Appender with the column classes of
 * columns.ts, `COPY … (FORMAT parquet)` writes a temporary file, whose bytes are returned. The
 * store's own database is never touched (it has file access off), whichever store answered.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBTimestampNanosecondsValue, type DuckDBAppender } from '@duckdb/node-api';
import { quoteIdent } from '../../schema/ddl/quote.js';
import type { QueryResult } from '../../store/store.js';
import { uniqueNames } from './arrow.js';
import { cell, classify, type ColumnClass } from './columns.js';

const SQL_TYPE: Record<ColumnClass, string> = { bool: 'BOOLEAN', int64: 'BIGINT', int32: 'INTEGER', float64: 'DOUBLE', timestamp: 'TIMESTAMP_NS', text: 'VARCHAR' };

function append(a: DuckDBAppender, v: unknown, cls: ColumnClass): void {
  if (v === null) return a.appendNull();
  switch (cls) {
    case 'bool': return a.appendBoolean(v as boolean);
    case 'int64': return a.appendBigInt(v as bigint);
    case 'int32': return a.appendInteger(v as number);
    case 'float64': return a.appendDouble(v as number);
    case 'timestamp': return a.appendTimestampNanoseconds(new DuckDBTimestampNanosecondsValue(v as bigint));
    default: return a.appendVarchar(v as string);
  }
}

export async function toParquet(result: QueryResult): Promise<Buffer> {
  if (result.columns.length === 0) throw new Error('a result without columns cannot be written as Parquet');
  const names = uniqueNames(result.columns.map((c) => c.name));
  const classes = result.columns.map((c) => classify(c.type));
  const dir = await mkdtemp(join(tmpdir(), 'isoscope-parquet-'));
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE result (${names.map((n, i) => `${quoteIdent(n)} ${SQL_TYPE[classes[i]!]}`).join(', ')})`);
    const appender = await connection.createAppender('result');
    try {
      for (const row of result.rows) {
        classes.forEach((cls, i) => append(appender, cell(row[i], cls), cls));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const file = join(dir, 'result.parquet');
    await connection.run(`COPY result TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    return await readFile(file);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
