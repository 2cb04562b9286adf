/**
 * `POST /api/sql` on both real stores: the four formats read back by their own readers (Arrow by
 * apache-arrow, Parquet by DuckDB), the row limit, the timeout, and writes or DDL refused under
 * many spellings with a JSON error.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { QuestDbStore } from '../../store/questdb/questdb-store.js';
import type { Store } from '../../store/store.js';
import { testServices } from '../../test/services.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { createQueryApp } from '../app.js';

const tempDir = tempDirs('isoscope-sql-');

/** Per store: a query with every column class, one that runs for seconds, and a row source. */
const cases = [
  {
    kind: 'duckdb',
    make: (): Store => new DuckDbStore({ path: ':memory:' }),
    typed: "SELECT 1::INTEGER AS i, 9007199254740993::BIGINT AS big, 1.5::DOUBLE AS d, 'a,\"b\"' AS s, true AS b, make_timestamp_ns(1764000000123456789) AS ts, NULL::VARCHAR AS n",
    slow: 'SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3',
    rows: 'SELECT range AS x FROM range(5)',
  },
  {
    kind: 'questdb',
    make: (): Store => { const s = testServices(); return new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg, readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword }); },
    typed: "SELECT cast(1 AS int) AS i, 9007199254740993L AS big, 1.5 AS d, 'a,\"b\"' AS s, true AS b, cast(1764000000123456789 AS timestamp_ns) AS ts, cast(NULL AS string) AS n",
    // ~2 s of server CPU: the PG client gives up at the timeout, QuestDB finishes the statement.
    slow: 'SELECT count() FROM long_sequence(200000000) WHERE rnd_double() > 2',
    rows: 'SELECT x FROM long_sequence(5)',
  },
] as const;

/** Writes and DDL in many spellings; each must be refused by both stores. */
const WRITES = [
  'DROP TABLE samples',
  'drop table samples',
  '  /* hi */ DrOp TaBlE "samples"',
  '-- comment\nINSERT INTO samples (node) VALUES (\'x\')',
  "insert into runs select * from runs",
  'UPDATE samples SET value = 0',
  'DELETE FROM samples',
  'TRUNCATE TABLE samples',
  'ALTER TABLE samples ADD COLUMN x INT',
  'CREATE TABLE evil (a INT)',
  'create table evil as (select 1 a)',
  'WITH t AS (SELECT * FROM samples LIMIT 0) INSERT INTO samples SELECT * FROM t',
  'SELECT 1; DROP TABLE samples',
  'select 1;drop table samples;',
  "COPY samples TO '/tmp/x.csv'",
  'VACUUM TABLE samples',
  'GRANT SELECT ON samples TO reader',
  'RENAME TABLE samples TO s2',
  "SET x = 'y'",
  '(DROP TABLE samples)',
];

describe.each(cases)('POST /api/sql on $kind', ({ make, typed, slow, rows }) => {
  let store: Store;
  let app: ReturnType<typeof createQueryApp>;
  const post = (body: object, headers: Record<string, string> = {}, query = '') =>
    app.request(`/api/sql${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    store = make();
    await store.start();
    app = createQueryApp({ store });
  });
  afterAll(() => store?.shutdown());

  it('answers JSON by default, exact for 64-bit integers and nanoseconds', async () => {
    const res = await post({ sql: typed });
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { columns: { name: string }[]; rows: unknown[][] };
    expect(body.columns.map((c) => c.name)).toEqual(['i', 'big', 'd', 's', 'b', 'ts', 'n']);
    expect(body.rows[0]!.slice(0, 5)).toEqual([1, '9007199254740993', 1.5, 'a,"b"', true]);
    expect(body.rows[0]![6]).toBeNull();
  });

  it('answers CSV (body format, ?format= or Accept)', async () => {
    for (const res of [await post({ sql: typed, format: 'csv' }), await post({ sql: typed }, {}, '?format=csv'), await post({ sql: typed }, { accept: 'text/csv' })]) {
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      const [header, line] = (await res.text()).split('\n');
      expect(header).toBe('i,big,d,s,b,ts,n');
      expect(line).toMatch(/^1,9007199254740993,1\.5,"a,""b""",true,2025-11-24T16:00:00\.123\d*Z,$/);
    }
  });

  it('answers an Arrow IPC stream with exact types', async () => {
    const res = await post({ sql: typed, format: 'arrow' });
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['i:Int32', 'big:Int64', 'd:Float64', 's:Utf8', 'b:Bool', 'ts:Timestamp<NANOSECOND, UTC>', 'n:Utf8']);
    const row = table.get(0)!.toJSON();
    expect([row.i, row.big, row.d, row.s, row.b, row.n]).toEqual([1, 9007199254740993n, 1.5, 'a,"b"', true, null]);
    // Nanoseconds survive on DuckDB; QuestDB's PG wire gives microseconds for a timestamp column.
    const ns = (table.getChild('ts')!.data[0]!.values as BigInt64Array)[0]!;
    expect(ns / 1000n).toBe(1764000000123456n);
  });

  it('answers Parquet that DuckDB reads back', async () => {
    const res = await post({ sql: typed, format: 'parquet' });
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const file = join(tempDir(), 'r.parquet');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const back = await conn.runAndReadAll(`SELECT i, big, d, s, b, epoch_ns(ts) // 1000 AS us, n, typeof(ts) AS t FROM '${file}'`);
    expect(back.getRows()).toEqual([[1, 9007199254740993n, 1.5, 'a,"b"', true, 1764000000123456n, null, 'TIMESTAMP_NS']]);
    conn.closeSync();
    db.closeSync();
  });

  it('cuts at the row limit in every format and says so', async () => {
    const json = (await (await post({ sql: rows, limit: 3 })).json()) as { rows: unknown[]; truncated: boolean };
    expect(json).toMatchObject({ rows: [[0], [1], [2]].map(([x]) => [x! + (rows.includes('long_sequence') ? 1 : 0)]), truncated: true });
    const csv = await post({ sql: rows, limit: 3, format: 'csv' });
    expect(csv.headers.get('x-isoscope-truncated')).toBe('true');
    expect((await csv.text()).trim().split('\n')).toHaveLength(4);
    const arrow = tableFromIPC(new Uint8Array(await (await post({ sql: rows, limit: 2, format: 'arrow' })).arrayBuffer()));
    expect(arrow.numRows).toBe(2);
    expect((await post({ sql: rows, limit: 10 })).headers.get('x-isoscope-truncated')).toBe('false');
  });

  it('cancels at the timeout with 408 and a message', async () => {
    const t0 = Date.now();
    const res = await post({ sql: slow, timeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(res.status).toBe(408);
    expect(await res.json()).toEqual({ error: 'the query was cancelled because it ran longer than its timeout of 300 ms' });
  });

  it.each(WRITES)('refuses %j', async (sql) => {
    const res = await post({ sql });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error).toMatch(/refused|only one SQL statement|read-only|permission|not allowed|denied|must end in a SELECT/i);
  });

  it('names a bad format', async () => {
    expect(await (await post({ sql: rows, format: 'xml' })).json()).toEqual({ error: expect.stringMatching(/^format: /) });
    expect(await (await post({ sql: rows }, {}, '?format=xml')).json()).toEqual({ error: 'unknown format "xml": expected json, csv, arrow or parquet' });
  });
});
