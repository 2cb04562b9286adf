/**
 * QuestDB DDL generated from the record definitions: WAL tables with `ts` as designated timestamp,
 * partitioned by time, and DEDUP UPSERT KEYS so a re-delivered batch overwrites itself.
 */
import type { RecordDefinition } from '../define.js';
import { quoteIdent } from './quote.js';
import { RECORD_NAMES, definitionOf, type RecordName } from '../records.js';
import { QUESTDB_TYPES } from './types.js';

export function questdbCreateTable(def: RecordDefinition, table = def.name): string {
  const cols = Object.entries(def.columns).map(([name, c]) => `  ${quoteIdent(name)} ${QUESTDB_TYPES[c.kind]}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (`,
    cols.join(',\n'),
    `) TIMESTAMP("ts") PARTITION BY ${def.partitionBy} WAL`,
    `DEDUP UPSERT KEYS(${def.dedupKeys.map(quoteIdent).join(', ')});`,
  ].join('\n');
}

/** CREATE TABLE statements for every record type. */
export function questdbSchema(): Record<RecordName, string> {
  return Object.fromEntries(RECORD_NAMES.map((n) => [n, questdbCreateTable(definitionOf(n))])) as Record<RecordName, string>;
}
