/**
 * DuckDB DDL generated from the record definitions. The dedup keys become the primary key, and the
 * embedded store writes with INSERT OR REPLACE, the same "replay overwrites" effect as QuestDB's
 * DEDUP UPSERT KEYS.
 */
import type { RecordDefinition } from '../define.js';
import { quoteIdent } from './quote.js';
import { RECORD_NAMES, definitionOf, type RecordName } from '../records.js';
import { DUCKDB_TYPES } from './types.js';

export function duckdbCreateTable(def: RecordDefinition, table = def.name): string {
  const cols = Object.entries(def.columns).map(
    ([name, c]) => `  ${quoteIdent(name)} ${DUCKDB_TYPES[c.kind]}${c.nullable && !def.dedupKeys.includes(name) ? '' : ' NOT NULL'}`,
  );
  return [`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (`, cols.join(',\n') + ',', `  PRIMARY KEY (${def.dedupKeys.map(quoteIdent).join(', ')})`, ');'].join('\n');
}

export function duckdbSchema(): Record<RecordName, string> {
  return Object.fromEntries(RECORD_NAMES.map((n) => [n, duckdbCreateTable(definitionOf(n))])) as Record<RecordName, string>;
}
