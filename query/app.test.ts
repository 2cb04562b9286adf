/** The query API through app.request() (no socket), on the real QuestDB store of the test run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { testServices } from '../test/services.js';
import { createQueryApp } from './app.js';

const REMOTE = { incoming: { socket: { remoteAddress: '10.1.2.3' } } };
const LOCAL = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const TOKEN = 'a-long-enough-test-token';

describe('query API', () => {
  let store: QuestDbStore;
  let app: ReturnType<typeof createQueryApp>;

  beforeAll(async () => {
    const s = testServices();
    store = new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg, readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword });
    await store.start();
    app = createQueryApp({ store, token: TOKEN });
  });
  afterAll(() => store?.shutdown());

  const post = (body: unknown, env: object = LOCAL, headers: Record<string, string> = {}) =>
    app.request('/api/sql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }, env);

  it('answers health', async () => {
    const res = await app.request('/api/health', {}, LOCAL);
    expect(await res.json()).toEqual({ ok: true, store: 'questdb' });
  });

  it('runs read-only SQL and returns columns and rows', async () => {
    const res = await post({ sql: 'SELECT 1 AS one, \'x\' AS s' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ columns: [{ name: 'one', type: 'integer' }, { name: 's', type: 'char' }], rows: [[1, 'x']], truncated: false });
  });

  it('cuts results at the limit and says so', async () => {
    const res = await post({ sql: 'SELECT x FROM long_sequence(5)', limit: 3 });
    const body = (await res.json()) as { rows: unknown[][]; truncated: boolean };
    expect(body.rows).toHaveLength(3);
    expect(body.truncated).toBe(true);
  });

  it('refuses writes with a JSON error saying why', async () => {
    const res = await post({ sql: 'DROP TABLE samples' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/DROP statements are refused/) });
  });

  it('names what is wrong with a bad body', async () => {
    expect(await (await post('not json')).json()).toEqual({ error: expect.stringMatching(/request body must be JSON/) });
    expect(await (await post({ sql: '' })).json()).toEqual({ error: expect.stringMatching(/^sql: expected a non-empty SQL statement/) });
    expect(await (await post({ sql: 'SELECT 1', extra: true })).json()).toEqual({ error: expect.stringMatching(/extra/) });
  });

  it('needs the bearer token from non-loopback clients', async () => {
    expect((await post({ sql: 'SELECT 1' }, REMOTE)).status).toBe(401);
    expect((await post({ sql: 'SELECT 1' }, REMOTE, { authorization: 'Bearer wrong-token-of-same-length!' })).status).toBe(401);
    expect((await post({ sql: 'SELECT 1' }, REMOTE, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});
