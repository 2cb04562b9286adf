/**
 * The field tables of docs/SCHEMA.md, generated from the record definitions (a test checks the
 * checked-in file is current), so the docs cannot drift from the code.
 */
import { duckdbCreateTable } from './ddl/duckdb.js';
import { questdbCreateTable } from './ddl/questdb.js';
import { DUCKDB_TYPES, QUESTDB_TYPES } from './ddl/types.js';
import { RECORD_NAMES, definitionOf } from './records.js';

export function schemaMarkdown(): string {
  const out: string[] = [];
  for (const name of RECORD_NAMES) {
    const def = definitionOf(name);
    out.push(`## \`${name}\``, '', def.doc, '', `Topic \`${name}\`, table \`${name}\`; dedup keys: ${def.dedupKeys.map((k) => `\`${k}\``).join(', ')}; partitioned by ${def.partitionBy.toLowerCase()}.`, '');
    out.push('| field | QuestDB | DuckDB | null | meaning |', '|---|---|---|---|---|');
    for (const [col, spec] of Object.entries(def.columns)) {
      out.push(`| \`${col}\` | ${QUESTDB_TYPES[spec.kind]} | ${DUCKDB_TYPES[spec.kind]} | ${spec.nullable ? 'yes' : 'no'} | ${spec.doc.replaceAll('|', '\\|')} |`);
    }
    out.push('', '<details><summary>DDL</summary>', '', '```sql', questdbCreateTable(def), '', duckdbCreateTable(def), '```', '</details>', '');
  }
  return out.join('\n');
}
