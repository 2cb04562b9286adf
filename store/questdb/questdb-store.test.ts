/** The QuestDB store passes the shared Store conformance suite against the real server of the test run. */
import { describe, expect, it } from 'vitest';
import { storeConformance } from '../store.case.js';
import { testServices } from '../../test/services.js';
import { QuestDbStore } from './questdb-store.js';

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
});
