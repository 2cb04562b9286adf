/**
 * Identifier quoting for generated SQL. Some of our column names are SQL keywords in QuestDB
 * (`partition`), so generated statements quote every identifier; users writing their own SQL
 * against QuestDB must write "partition" in double quotes too (docs/SCHEMA.md says so).
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
