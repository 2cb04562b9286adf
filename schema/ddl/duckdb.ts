/**
 * DuckDB DDL generated from the record definitions. The dedup keys are NOT NULL but not a primary
 * key: the embedded store deduplicates at write time (a replay overwrites, the same effect as
 * QuestDB's DEDUP UPSERT KEYS), because an ART index on the keys cost more than the rows themselves
 * to insert and grows in memory with the table (docs/DECISIONS.md, "Embedded path").
 */
import type { RecordDefinition } from '../define.js';
import { quoteIdent } from './quote.js';
import { RECORD_NAMES, definitionOf, type RecordName } from '../records.js';
import { DUCKDB_TYPES } from './types.js';

export function duckdbCreateTable(def: RecordDefinition, table = def.name): string {
  const cols = Object.entries(def.columns).map(
    ([name, c]) => `  ${quoteIdent(name)} ${DUCKDB_TYPES[c.kind]}${c.nullable && !def.dedupKeys.includes(name) ? '' : ' NOT NULL'}`,
  );
  return [`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (`, cols.join(',\n'), `); -- dedup keys: ${def.dedupKeys.join(', ')}`].join('\n');
}

export function duckdbSchema(): Record<RecordName, string> {
  return Object.fromEntries(RECORD_NAMES.map((n) => [n, duckdbCreateTable(definitionOf(n))])) as Record<RecordName, string>;
}
