/**
 * The conformance suite every Store implementation runs: call `storeConformance(label, makeStore)`
 * from the implementation's test file. Records are built with the zod schemas (so defaults
 * apply) and carry a unique marker, so the suite can share tables with other tests and runs; reads
 * poll with a deadline because QuestDB applies writes asynchronously. The SQL is plain enough for
 * both DuckDB and QuestDB, with "partition" quoted (a keyword in QuestDB).
 */
import { describe, expect, it } from 'vitest';
import { encode, decodeColumns } from '../schema/codec.js';
import { batchOf, segmentOf } from '../schema/column-batch.js';
import { RECORD_NAMES, RECORDS, definitionOf, type RecordInput, type RecordName, type RecordOf } from '../schema/records.js';
import type { QueryResult, Store } from './store.js';

/** A fresh, not yet started store and how to dispose of what it left behind. */
export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const DEADLINE_MS = 30_000;
const TEST_TIMEOUT_MS = 120_000;

/** Unique and safe inside a SQL string literal. */
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** Column holding the marker of each record type, as it must be written in SQL. */
const MARKER: Record<RecordName, string> = { samples: 'collector', events: 'collector', partitions: '"partition"', runs: 'run', alerts: 'alert' };

/** Valid input for record `i` of a type; nullable columns are left out, so they must read back as null. */
function input(name: RecordName, marker: string, i: number, variant = 0): RecordInput<RecordName> {
  const ts = BigInt(Date.now()) * 1_000_000n + BigInt(i) * 1_000_123n + 789n;
  switch (name) {
    case 'samples':
      return { ts, node: 'conf-node', collector: marker, seq: 7, idx: i, source: 'procfs', metric: 'cpu.user', value: i + 0.5 + variant };
    case 'events':
      return { ts, node: 'conf-node', collector: marker, seq: 7, idx: i, source: 'linux', level: 'info', kind: 'test', message: `event ${i} v${variant}`, fields: { i, nested: { ok: true } } };
    case 'partitions':
      return { ts, partition: marker, node: `conf-node-${i}`, driver: 'linux-cpuset', action: 'create', cpus: '0-3', mem_mb: 1024 + variant };
    case 'runs':
      return { ts, run: marker, experiment: 'conformance', workload: 'hpcc', phase: 'start', nodes: 'a,b', node_count: 2 + variant, stack: 'linux', background: i % 2 === 0, repetition: i + 1 };
    case 'alerts':
      return { ts, alert: marker, rule: 'conf-rule', state: 'firing', severity: 'warning', message: `alert ${i} v${variant}` };
  }
}

function build(name: RecordName, marker: string, n: number, variant = 0): RecordOf<RecordName>[] {
  return Array.from({ length: n }, (_, i) => RECORDS[name].schema.parse(input(name, marker, i, variant)) as RecordOf<RecordName>);
}

async function eventually<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out after ${DEADLINE_MS} ms waiting until ${what}; last result: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Defines the tests every Store must pass. `makeStore` returns a store that is not started yet.
 */
export function storeConformance(label: string, makeStore: MakeStore): void {
  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const { store, cleanup } = await makeStore();
    try {
      await store.start();
      await fn(store);
    } finally {
      await store.shutdown().catch(() => undefined);
      await cleanup();
    }
  }

  const where = (name: RecordName, marker: string) => `FROM ${name} WHERE ${MARKER[name]} = '${marker}'`;
  const count = async (store: Store, name: RecordName, marker: string) => Number((await store.query(`SELECT count(*) ${where(name, marker)}`)).rows[0]?.[0]);
  const rowsOf = (r: QueryResult) => r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]])));

  describe(label, () => {
    it.each(RECORD_NAMES)('writes %s records and reads them back, absent columns as null', (name) =>
      withStore(async (store) => {
        const marker = unique(`conf-${name}`);
        const records = build(name, marker, 3);
        await store.write(name, records);
        const result = await eventually(`3 ${name} rows are visible`, () => store.query(`SELECT * ${where(name, marker)} ORDER BY ts`), (r) => r.rows.length === 3);
        const got = rowsOf(result);
        for (const [i, record] of records.entries()) {
          for (const [column, spec] of Object.entries(definitionOf(name).columns)) {
            if (column === 'ts') continue; // ts formats are checked per store
            const value = got[i]![column];
            const want = (record as Record<string, unknown>)[column] ?? null; // absent → NULL
            if (spec.kind === 'json') expect(JSON.parse(value as string), `${name}.${column} of row ${i}`).toEqual(want);
            else expect(value, `${name}.${column} of row ${i}`).toEqual(want);
          }
        }
      }), TEST_TIMEOUT_MS);

    it.each(RECORD_NAMES)('writes %s records held by column (a v2 message as decoded, and records turned to columns) like records, and dedups their replay', (name) =>
      withStore(async (store) => {
        const marker = unique(`conf-col-${name}`);
        const records = build(name, marker, 6);
        const decoded = decodeColumns(encode(name, records.slice(3)), name);
        expect(decoded.segment, 'a v2 message decodes to columns').not.toBeNull();
        const batch = batchOf(name, [segmentOf(name, records.slice(0, 3) as Record<string, unknown>[]), decoded.segment!]);
        await store.write(name, batch);
        await store.write(name, batch); // delivered again
        await eventually(`6 ${name} rows are visible`, () => count(store, name, marker), (n) => n === 6);
        const got = rowsOf(await store.query(`SELECT * ${where(name, marker)} ORDER BY ts`));
        expect(got).toHaveLength(6);
        for (const [i, record] of records.entries()) {
          for (const [column, spec] of Object.entries(definitionOf(name).columns)) {
            if (column === 'ts') continue;
            const value = got[i]![column];
            const want = (record as Record<string, unknown>)[column] ?? null;
            if (spec.kind === 'json') expect(JSON.parse(value as string), `${name}.${column} of row ${i}`).toEqual(want);
            else expect(value, `${name}.${column} of row ${i}`).toEqual(want);
          }
        }
      }), TEST_TIMEOUT_MS);

    it.each(RECORD_NAMES)('deduplicates %s on its dedup keys: a replay leaves one copy and the last write wins', (name) =>
      withStore(async (store) => {
        const marker = unique(`conf-dedup-${name}`);
        const first = build(name, marker, 4);
        await store.write(name, first);
        await eventually(`4 ${name} rows are visible`, () => count(store, name, marker), (n) => n === 4);
        await store.write(name, first); // the same batch delivered again
        const replay = build(name, marker, 4, 1).map((r, i) => ({ ...r, ts: first[i]!.ts }));
        await store.write(name, [...replay.slice(0, 2), ...replay]); // duplicates inside one write too
        const changed = name === 'samples' ? 'value' : name === 'partitions' ? 'mem_mb' : name === 'runs' ? 'node_count' : 'message';
        const want = replay.map((r) => (r as Record<string, unknown>)[changed]);
        await eventually(`the replayed ${name} rows show the last write`, async () => rowsOf(await store.query(`SELECT ${changed} ${where(name, marker)} ORDER BY ts`)).map((r) => r[changed]), (v) => JSON.stringify(v) === JSON.stringify(want));
        expect(await count(store, name, marker)).toBe(4);
      }), TEST_TIMEOUT_MS);

    it('cuts results at the limit and says so', () =>
      withStore(async (store) => {
        const marker = unique('conf-limit');
        await store.write('samples', build('samples', marker, 5));
        await eventually('5 samples are visible', () => count(store, 'samples', marker), (n) => n === 5);
        const cut = await store.query(`SELECT idx ${where('samples', marker)} ORDER BY ts`, { limit: 2 });
        expect(cut.rows).toEqual([[0], [1]]);
        expect(cut.truncated).toBe(true);
        const whole = await store.query(`SELECT idx ${where('samples', marker)} ORDER BY ts`, { limit: 5 });
        expect(whole.rows).toHaveLength(5);
        expect(whole.truncated).toBe(false);
      }), TEST_TIMEOUT_MS);

    it.each([
      ['INSERT', `INSERT INTO samples (ts, node, collector, seq, idx, source, metric, value, cpu, scale) VALUES (0, 'n', 'c', 0, 0, 's', 'm', 1, -1, 1)`],
      ['UPDATE', `UPDATE samples SET value = 0`],
      ['DELETE', `DELETE FROM samples`],
      ['CREATE', `CREATE TABLE conformance_refused (a INT)`],
      ['DROP', `DROP TABLE samples`],
      ['ALTER', `ALTER TABLE samples ADD COLUMN extra INT`],
      ['two statements', `SELECT 1; DROP TABLE samples`],
    ])('refuses %s through query', (_kind, sql) =>
      withStore(async (store) => {
        await expect(store.query(sql)).rejects.toThrow();
        const after = await store.query('SELECT count(*) FROM samples');
        expect(after.rows).toHaveLength(1); // the table is still there
      }), TEST_TIMEOUT_MS);
  });
}
