import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schemaMarkdown } from '../docs.js';
import { RECORD_NAMES, definitionOf } from '../records.js';
import { duckdbSchema } from './duckdb.js';
import { questdbSchema } from './questdb.js';

describe('generated DDL', () => {
  it.each(RECORD_NAMES)('QuestDB %s: WAL, designated ns timestamp, partitioning and dedup keys', (name) => {
    const sql = questdbSchema()[name];
    const def = definitionOf(name);
    expect(sql).toContain(`CREATE TABLE IF NOT EXISTS "${name}"`);
    expect(sql).toContain('"ts" TIMESTAMP_NS');
    expect(sql).toContain(`TIMESTAMP("ts") PARTITION BY ${def.partitionBy} WAL`);
    expect(sql).toContain(`DEDUP UPSERT KEYS(${def.dedupKeys.map((k) => `"${k}"`).join(', ')})`);
    for (const col of Object.keys(def.columns)) expect(sql).toContain(`"${col}" `);
  });

  it.each(RECORD_NAMES)('DuckDB %s: dedup keys NOT NULL and named, no primary key index (the store deduplicates as it writes)', (name) => {
    const def = definitionOf(name);
    const sql = duckdbSchema()[name];
    for (const k of def.dedupKeys) expect(sql).toMatch(new RegExp(`"${k}" [A-Z_]+ NOT NULL`));
    expect(sql).toContain(`dedup keys: ${def.dedupKeys.join(', ')}`);
    expect(sql).not.toContain('PRIMARY KEY');
  });

  it('samples dedup on the batch identity, so a redelivered batch overwrites itself', () => {
    expect(definitionOf('samples').dedupKeys).toEqual(['ts', 'collector', 'seq', 'idx']);
  });

  it('docs/SCHEMA.md contains the current generated field tables', () => {
    const doc = readFileSync(new URL('../../docs/SCHEMA.md', import.meta.url), 'utf8');
    expect(doc, 'regenerate with: node bin/isoscope.js schema docs, and paste below the marker').toContain(schemaMarkdown());
  });
});
