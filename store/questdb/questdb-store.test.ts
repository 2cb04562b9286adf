/** The QuestDB store passes the shared Store conformance suite against the real server of the test run. */
import { describe, expect, it } from 'vitest';
import { storeConformance } from '../store.case.js';
import { validate } from '../../schema/codec.js';
import { pollUntil, questdbClient, testServices, uniqueName } from '../../test/services.js';
import { ILP_ROWS_PER_REQUEST, QuestDbStore } from './questdb-store.js';

const make = () => {
  const s = testServices();
  return new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg, readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword });
};

storeConformance('questdb store (conformance, real server)', async () => ({ store: make(), cleanup: async () => {} }));

describe('questdb store', () => {
  it('fails at start with what to do when QuestDB is not there', async () => {
    const store = new QuestDbStore({ http: '127.0.0.1:1', pg: '127.0.0.1:1' });
    await expect(store.start()).rejects.toThrow(/cannot prepare QuestDB tables at 127\.0\.0\.1:1: .*isoscope services start/);
    await store.shutdown();
  });

  it('with createTables false uses only the read-only user: a wrong admin password does not matter', async () => {
    const s = testServices();
    const wrongAdmin = { http: s.questdb.http, pg: s.questdb.pg, user: 'admin', password: 'not-the-admin-password', readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword };
    const withDdl = new QuestDbStore(wrongAdmin);
    await expect(withDdl.start()).rejects.toThrow(/cannot prepare QuestDB tables/);
    const creator = make(); // the tables exist: ingest (here, a store with the admin user) created them
    await creator.start();
    await creator.shutdown();
    const reader = new QuestDbStore({ ...wrongAdmin, createTables: false });
    await reader.start();
    try {
      const r = await reader.query('SELECT count() FROM runs');
      expect(r.columns.length).toBe(1);
      await expect(reader.query('DROP TABLE runs')).rejects.toThrow();
      await expect(reader.ensureTables()).rejects.toThrow(/createTables false/);
    } finally {
      await reader.shutdown();
    }
    const badReader = new QuestDbStore({ ...wrongAdmin, readonlyPassword: 'wrong', createTables: false });
    await expect(badReader.start()).rejects.toThrow(new RegExp(`cannot reach QuestDB as ${s.questdb.readonlyUser} \\(questdb.createTables is false\\)`));
  });

  it('writes a batch larger than one ILP request in bounded requests, every row once', async () => {
    const store = make();
    await store.start();
    const db = await questdbClient(testServices());
    try {
      const collector = uniqueName('chunked');
      const n = 2 * ILP_ROWS_PER_REQUEST + 7;
      const ts = BigInt(Date.now()) * 1_000_000n;
      const rows = validate('samples', Array.from({ length: n }, (_, idx) => ({ ts, node: 'n', collector, seq: 1, idx, source: 'test', metric: 'm', value: idx })));
      await store.write('samples', rows);
      await store.write('samples', rows); // a redelivery: dedup keeps one of each
      const count = async () => Number((await db.query(`SELECT count() n, sum(value) s FROM samples WHERE collector = '${collector}'`)).rows[0].n);
      expect(await pollUntil(count, (c) => c === n, 60_000, 250)).toBe(n);
      const sum = Number((await db.query(`SELECT sum(value) s FROM samples WHERE collector = '${collector}'`)).rows[0].s);
      expect(sum).toBe((n * (n - 1)) / 2);
    } finally {
      await db.end();
      await store.shutdown();
    }
  }, 120_000);
});
