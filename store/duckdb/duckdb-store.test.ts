/**
 * The DuckDB store: the shared Store conformance suite, then the read-only guard under many
 * spellings, file access, timeouts, exact nanosecond timestamps and durability across a reopen.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../schema/codec.js';
import { RECORD_NAMES, definitionOf } from '../../schema/records.js';
import { DUCKDB_TYPES } from '../../schema/ddl/types.js';
import type { RecordInput } from '../../schema/records.js';
import { storeConformance } from '../store.case.js';
import { DuckDbStore } from './duckdb-store.js';
import { isoNanos } from './values.js';
import { tempDirs } from '../../test/temp-dirs.js';

const tempDir = tempDirs('isoscope-duckdb-');

storeConformance('duckdb store (conformance)', async () => ({ store: new DuckDbStore({ path: ':memory:' }), cleanup: async () => undefined }));

const sample = (ts: bigint, idx: number, extra: Partial<RecordInput<'samples'>> = {}): RecordInput<'samples'> => ({
  ts, node: 'n1', collector: 'n1/test', seq: 1, idx, source: 'procfs', metric: 'cpu.user', value: idx, ...extra,
});

describe('duckdb store: read-only guard', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  beforeAll(async () => {
    await store.start();
    await store.write('samples', validate('samples', [sample(1n, 0)]));
  });
  afterAll(() => store.shutdown());

  it.each([
    ['DROP', 'DROP TABLE samples'],
    ['DROP', 'drop table if exists no_such_table'],
    ['DROP', '  -- a comment\n /* another /* nested */ one */ DrOp TaBlE samples'],
    ['INSERT', `INSERT INTO samples SELECT * FROM samples`],
    ['INSERT', `WITH x AS (SELECT 1) INSERT INTO samples SELECT * FROM samples`],
    ['UPDATE', 'update samples set value = 0'],
    ['DELETE', 'DELETE FROM samples'],
    ['DELETE', 'TRUNCATE samples'],
    ['CREATE', 'CREATE TABLE x (a INT)'],
    ['CREATE', 'CREATE TEMP TABLE x AS SELECT 1'],
    ['CREATE', 'CREATE MACRO m(x) AS x'],
    ['CREATE', 'CREATE VIEW v AS SELECT 1'],
    ['ALTER', 'ALTER TABLE samples RENAME TO s2'],
    ['ALTER', "COMMENT ON TABLE samples IS 'x'"],
    ['COPY', "COPY samples TO '/tmp/isoscope-refused.csv'"],
    ['COPY', "COPY (SELECT 1) TO '/tmp/isoscope-refused.csv'"],
    ['COPY', "COPY samples FROM '/etc/passwd'"],
    ['ATTACH', "ATTACH '/tmp/isoscope-other.duckdb' AS other"],
    ['DETACH', 'DETACH memory'],
    ['PRAGMA', 'PRAGMA enable_profiling'],
    ['PRAGMA', "/* hidden */ pragma table_info('samples')"],
    ['PRAGMA', 'PRAGMA threads=1'],
    ['PRAGMA', ";; PRAGMA table_info('samples')"],
    ['SET', 'SET threads = 1'],
    ['SET', 'RESET threads'],
    ['SET', 'SET enable_external_access = true'],
    ['SET', 'USE memory'],
    ['SET', 'SET VARIABLE x = 1'],
    ['LOAD', 'INSTALL httpfs'],
    ['LOAD', 'LOAD httpfs'],
    ['LOAD', "LOAD '/tmp/evil.duckdb_extension'"],
    ['CALL', 'CALL pragma_version()'],
    ['CALL', 'CHECKPOINT'],
    ['EXPORT', "EXPORT DATABASE '/tmp/isoscope-export'"],
    ['TRANSACTION', 'BEGIN TRANSACTION'],
    ['TRANSACTION', 'COMMIT'],
    ['VACUUM', 'VACUUM'],
    ['PREPARE', 'PREPARE p AS SELECT 1'],
    ['EXECUTE', 'EXECUTE p'],
    ['MERGE INTO', 'MERGE INTO samples USING samples AS s ON false WHEN MATCHED THEN DELETE'],
    ['UPDATE EXTENSIONS', 'UPDATE EXTENSIONS'],
    ['EXPLAIN of DELETE', 'EXPLAIN DELETE FROM samples'],
    ['EXPLAIN of DELETE', 'EXPLAIN ANALYZE DELETE FROM samples'],
    ['EXPLAIN of DELETE', 'explain /* x */ analyse delete from samples'],
    ['EXPLAIN of PRAGMA', 'EXPLAIN PRAGMA version'],
    ['one SQL statement at a time', 'SELECT 1; DROP TABLE samples'],
    ['one SQL statement at a time', 'SELECT 1; SELECT 2'],
    ['empty', '  -- only a comment'],
  ])('refuses %s: %s', async (what, sql) => {
    await expect(store.query(sql)).rejects.toThrow(what);
    expect((await store.query('SELECT count(*) FROM samples')).rows).toEqual([[1]]);
  });

  it.each([
    "SELECT * FROM read_csv('/etc/passwd')",
    "select * from READ_CSV_AUTO('/etc/passwd')",
    "FROM '/etc/passwd'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM read_json('/tmp/x.json')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "WITH f AS (SELECT * FROM read_blob('/etc/passwd')) SELECT * FROM f",
  ])('refuses file access: %s', async (sql) => {
    await expect(store.query(sql)).rejects.toThrow(/(refused|does not exist|Catalog Error)/);
  });

  it.each([
    ['SELEC 1', 'the SQL does not parse: syntax error at or near "SELEC" (LINE 1: SELEC 1)'],
    ['SELECT FROM WHERE', 'the SQL does not parse: syntax error at or near "WHERE"'],
    ['EXPLAIN SELEC 1', 'the SQL does not parse: syntax error at or near "SELEC"'],
  ])('reports SQL that does not parse as a syntax error, not a refused write: %s', async (sql, message) => {
    await expect(store.query(sql)).rejects.toThrow(message);
  });

  it('says once that file access is refused', async () => {
    const err = await store.query("SELECT * FROM read_csv('/etc/passwd')").catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^reading or writing files, URLs or other databases from user SQL is refused \(Permission Error: .*\)$/);
    expect((err as Error).message.split('is refused').length).toBe(2);
  });

  it.each([
    'SELECT count(*) FROM samples',
    '  -- leading comment\n select /* inline */ count(*) from samples;',
    'WITH s AS (SELECT * FROM samples) SELECT count(*) FROM s',
    'FROM samples SELECT count(*)',
    '(SELECT 1)',
    'VALUES (1), (2)',
    'SHOW TABLES',
    'DESCRIBE samples',
    'SUMMARIZE samples',
    'EXPLAIN SELECT * FROM samples',
    'EXPLAIN ANALYZE SELECT * FROM samples',
    "SELECT current_setting('enable_external_access')",
  ])('allows %s', async (sql) => {
    const result = await store.query(sql);
    expect(result.columns.length).toBeGreaterThan(0);
  });

  it('has file access and configuration locked for the whole database', async () => {
    const r = await store.query("SELECT current_setting('enable_external_access'), current_setting('lock_configuration')");
    expect(r.rows).toEqual([[false, true]]);
  });

  it('cancels a statement that runs past its timeout, saying so', async () => {
    const t0 = Date.now();
    await expect(store.query('SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000000) b', { timeoutMs: 200 })).rejects.toThrow(/timeout of 200 ms/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await store.query('SELECT 42')).rows).toEqual([[42]]);
  });
});

describe('duckdb store: values', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  beforeAll(() => store.start());
  afterAll(() => store.shutdown());

  it('round-trips timestamps exactly at nanosecond precision, returned as ISO-8601 with nine digits', async () => {
    const stamps = [1n, 999_999_999n, 1_795_968_780_123_456_789n, 9_223_372_036_854_775_806n];
    await store.write('samples', validate('samples', stamps.map((ts, i) => sample(ts, i))));
    const r = await store.query('SELECT ts, epoch_ns(ts) FROM samples ORDER BY ts');
    expect(r.columns.map((c) => c.type)).toEqual(['TIMESTAMP_NS', 'BIGINT']);
    expect(r.rows.map((row) => row[0])).toEqual(stamps.map(isoNanos));
    expect(r.rows[2]![0]).toBe('2026-11-29T16:13:00.123456789Z');
    expect(r.rows.map((row) => BigInt(row[1] as number | string))).toEqual(stamps);
  });

  it('refuses a timestamp beyond the TIMESTAMP_NS range (year 2262) with the reason', async () => {
    // Validation refuses it first; a record that bypassed validation is refused by the store too.
    expect(() => validate('samples', [sample(253_402_300_799_999_999_999n, 0)])).toThrow(/after 2262-04-11/);
    const unchecked = { ...validate('samples', [sample(5n, 0)])[0]!, ts: 253_402_300_799_999_999_999n };
    await expect(store.write('samples', [unchecked])).rejects.toThrow(/column ts: expected nanoseconds before 2262-04-11T23:47:16.854775807Z/);
  });

  it('formats every timestamp kind and large integers for JSON clients', async () => {
    const r = await store.query(
      "SELECT TIMESTAMP '2026-11-24 16:13:00.123456', TIMESTAMPTZ '2026-11-24 16:13:00Z', 9007199254740993::BIGINT, 42::HUGEINT, 1.25::DECIMAL(5,2), NULL::VARCHAR, 'infinity'::TIMESTAMP",
    );
    expect(r.rows[0]).toEqual(['2026-11-24T16:13:00.123456000Z', '2026-11-24T16:13:00.000000000Z', '9007199254740993', 42, 1.25, null, 'infinity']);
    expect(isoNanos(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  });

  it('refuses an invalid record with the column named, and keeps writing afterwards', async () => {
    const bad = { ...validate('samples', [sample(5n, 100)])[0]!, node: null } as never;
    await expect(store.write('samples', [bad])).rejects.toThrow(/samples records .* failed: .*node/);
    await store.write('samples', validate('samples', [sample(6n, 101)]));
    expect((await store.query('SELECT idx FROM samples WHERE idx >= 100')).rows).toEqual([[101]]);
  });
});

describe('duckdb store: chunked writes and dedup without an index', () => {
  const store = new DuckDbStore({ path: ':memory:' });
  beforeAll(() => store.start());
  afterAll(() => store.shutdown());

  it('writes 5,000 samples (three chunks) exactly: nulls, defaults, negative and 2^53-range longs', async () => {
    const rows = validate('samples', Array.from({ length: 5000 }, (_, i) => sample(1_000_000_000n + BigInt(i >> 9), i, {
      seq: i % 3 === 0 ? -(2 ** 52) - i : 2 ** 52 + i, value: i * 0.5, ...(i % 7 === 0 ? { cgroup: `/g${i}` } : {}), ...(i % 11 === 0 ? { cpu: i } : {}),
    })));
    await store.write('samples', rows);
    const r = await store.query('SELECT idx, seq, value, cgroup, cpu, scale, run FROM samples WHERE collector = \'n1/test\' AND epoch_ns(ts) < 2000000000 ORDER BY idx', { limit: 10_000 });
    expect(r.rows).toHaveLength(5000);
    for (const [i, row] of r.rows.entries()) {
      const want = rows[i]!;
      expect(row, `row ${i}`).toEqual([i, want.seq, want.value, want.cgroup ?? null, want.cpu, 1, null]);
    }
  });

  it('a replay spanning chunks leaves one copy of each key and the last write wins, within one write too', async () => {
    const batch = (value: number) => validate('samples', Array.from({ length: 4100 }, (_, i) => sample(5_000_000_000n + BigInt(i % 3), i, { seq: 9, value })));
    await store.write('samples', batch(1));
    await store.write('samples', [...batch(2).slice(0, 10), ...batch(3)]);
    const r = await store.query('SELECT count(*), min(value), max(value) FROM samples WHERE seq = 9');
    expect(r.rows).toEqual([[4100, 3, 3]]);
  });

  it('finds a replayed key both through the list of a batch\'s timestamps and, past 1024 of them, through the range alone', async () => {
    const spread = (n: number, seq: number, value: number) => validate('samples', Array.from({ length: n }, (_, i) => sample(9_000_000_000n + BigInt(i) * 1_000_000_000n, i, { seq, value })));
    await store.write('samples', spread(50, 91, 1));
    await store.write('samples', spread(50, 91, 2).filter((_, i) => i === 0 || i === 49)); // 2 timestamps, hours apart
    await store.write('samples', spread(1100, 92, 1));
    await store.write('samples', spread(1100, 92, 2)); // 1100 distinct timestamps: the range only
    const r = await store.query('SELECT seq, count(*), sum(value) FROM samples WHERE seq IN (91, 92) GROUP BY seq ORDER BY seq');
    expect(r.rows).toEqual([[91, 50, 52], [92, 1100, 2200]]);
  });

  it('refuses a value of the wrong type with its record and column, writing nothing of the batch', async () => {
    const good = validate('samples', [sample(7_000_000_000n, 0, { seq: 77 })])[0]!;
    await expect(store.write('samples', [good, { ...good, idx: 1, value: 'x' as never }])).rejects.toThrow(/record 1, column value: expected a number, got string/);
    await expect(store.write('samples', [good, { ...good, idx: 2, seq: 1.5 }])).rejects.toThrow(/record 1, column seq: expected an integer/);
    expect((await store.query('SELECT count(*) FROM samples WHERE seq = 77')).rows).toEqual([[0]]);
  });
});

describe('duckdb store: a database created with the dedup keys as PRIMARY KEY (earlier isoscope)', () => {
  it('keeps writing it with INSERT OR REPLACE: replays overwrite', async () => {
    const path = join(tempDir(), 'old.duckdb');
    const old = await DuckDBInstance.create(path);
    const conn = await old.connect();
    for (const name of RECORD_NAMES) {
      const def = definitionOf(name);
      const cols = Object.entries(def.columns).map(([c, spec]) => `"${c}" ${DUCKDB_TYPES[spec.kind]}${spec.nullable && !def.dedupKeys.includes(c) ? '' : ' NOT NULL'}`);
      await conn.run(`CREATE TABLE "${name}" (${cols.join(', ')}, PRIMARY KEY (${def.dedupKeys.map((k) => `"${k}"`).join(', ')}))`);
    }
    conn.closeSync();
    old.closeSync();
    const store = new DuckDbStore({ path });
    await store.start();
    try {
      await store.write('samples', validate('samples', [sample(10n, 0), sample(11n, 1)]));
      await store.write('samples', validate('samples', [sample(10n, 0, { value: 5 }), sample(10n, 0, { value: 6 }), sample(12n, 2)]));
      expect((await store.query('SELECT idx, value FROM samples ORDER BY idx')).rows).toEqual([[0, 6], [1, 1], [2, 2]]);
    } finally {
      await store.shutdown();
    }
  });
});

describe('duckdb store: durability', () => {
  it('keeps what was written across a reopen of the file', async () => {
    const path = join(tempDir(), 'sub', 'isoscope.duckdb');
    const first = new DuckDbStore({ path });
    await first.start();
    await first.write('samples', validate('samples', [sample(10n, 0), sample(11n, 1)]));
    await first.shutdown();
    await first.shutdown(); // idempotent
    const again = new DuckDbStore({ path });
    await again.start();
    expect((await again.query('SELECT count(*) FROM samples')).rows).toEqual([[2]]);
    await again.shutdown();
  });

  it('cancels running queries when it shuts down', async () => {
    const store = new DuckDbStore({ path: ':memory:' });
    await store.start();
    const running = store.query('SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000000) b', { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100)); // let it start; the outcome is the same either way
    await store.shutdown();
    await expect(running).rejects.toThrow(/cancelled because the DuckDB store :memory: shut down/);
  });

  it('rejects bad options and queries before start with clear messages', async () => {
    expect(() => new DuckDbStore({ path: '' })).toThrow(/invalid DuckDB store options: options.path/);
    await expect(new DuckDbStore({ path: ':memory:' }).query('SELECT 1')).rejects.toThrow(/not started/);
    await new DuckDbStore({ path: ':memory:' }).shutdown(); // safe without start
  });
});
