/** Column kind → SQL type, per store dialect. The one place where storage types are decided. */
import type { ColumnKind } from '../columns.js';

export const QUESTDB_TYPES: Record<ColumnKind, string> = {
  timestamp: 'TIMESTAMP_NS',
  symbol: 'SYMBOL',
  string: 'VARCHAR',
  long: 'LONG',
  int: 'INT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  json: 'VARCHAR',
};

export const DUCKDB_TYPES: Record<ColumnKind, string> = {
  timestamp: 'TIMESTAMP_NS',
  symbol: 'VARCHAR',
  string: 'VARCHAR',
  long: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  json: 'VARCHAR',
};
