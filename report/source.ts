/**
 * Where the report reads from: the query API, either in-process on a store (a hono app answering
 * `app.request`, no socket) or a running `isoscope up`/`isoscope query` over HTTP. Both answer
 * the very JSON of /api/compare/cells, /api/runs, /api/series and /api/sql, so the report's
 * numbers are the API's numbers.
 */
import type { QueryApp } from '../query/app.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface ApiSource {
  get<T>(path: string): Promise<T>;
  sql(sql: string): Promise<{ columns: { name: string }[]; rows: unknown[][] }>;
  /** For messages: where the answers come from. */
  readonly where: string;
}

async function answer<T>(res: Response, path: string): Promise<T> {
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `${path} answered HTTP ${res.status}`);
  return body;
}

export function appSource(app: QueryApp, where: string): ApiSource {
  return {
    where,
    get: async <T>(path: string) => answer<T>(await app.request(path), path),
    sql: async (sql: string) => answer(await app.request('/api/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, limit: 100_000 }) }), '/api/sql'),
  };
}

export function httpSource(baseUrl: string, token: string | undefined): ApiSource {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    where: baseUrl,
    get: async <T>(path: string) => answer<T>(await fetch(`${baseUrl}${path}`, { headers }), path),
    sql: async (sql: string) => answer(await fetch(`${baseUrl}/api/sql`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ sql, limit: 100_000 }) }), '/api/sql'),
  };
}
