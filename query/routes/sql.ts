/**
 * `POST /api/sql`: read-only SQL against the configured store, with a row limit and a timeout,
 * answered as JSON (default), CSV, an Apache Arrow IPC stream or Parquet. The format comes from
 * the body's `format`, else `?format=`, else the Accept header.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Store } from '../../store/store.js';
import { toArrowStream } from '../formats/arrow.js';
import { toCsv } from '../formats/csv.js';
import { toParquet } from '../formats/parquet.js';
import { HttpError, issuesText, storeError } from '../http.js';
import { toJson } from '../json.js';

export const FORMATS = ['json', 'csv', 'arrow', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

export const sqlBody = z
  .object({
    sql: z.string().min(1, 'expected a non-empty SQL statement').max(100_000).describe('One read-only statement (SELECT, WITH, SHOW, EXPLAIN …).'),
    limit: z.number().int().min(1).max(1_000_000).optional().describe('Most rows returned; `truncated` says whether rows were cut. Default 10000.'),
    timeoutMs: z.number().int().min(1).max(600_000).optional().describe('Milliseconds before the statement is cancelled. Default 30000.'),
    format: z.enum(FORMATS).optional().describe('json (default), csv, arrow (IPC stream) or parquet.'),
  })
  .strict();

const CONTENT_TYPES: Record<Format, string> = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  arrow: 'application/vnd.apache.arrow.stream',
  parquet: 'application/vnd.apache.parquet',
};

function formatFrom(body: Format | undefined, query: string | undefined, accept: string | undefined): Format {
  if (body) return body;
  if (query !== undefined) {
    if (!(FORMATS as readonly string[]).includes(query)) throw new HttpError(400, `unknown format "${query}": expected json, csv, arrow or parquet`);
    return query as Format;
  }
  const a = accept ?? '';
  if (a.includes('text/csv')) return 'csv';
  if (a.includes('arrow')) return 'arrow';
  if (a.includes('parquet')) return 'parquet';
  return 'json';
}

export function sqlRoutes(store: Store) {
  return new Hono().post('/api/sql', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, 'request body must be JSON: {"sql": "SELECT …"}');
    }
    const parsed = sqlBody.safeParse(body);
    if (!parsed.success) throw new HttpError(400, issuesText(parsed.error));
    const { sql, limit, timeoutMs, format: bodyFormat } = parsed.data;
    const format = formatFrom(bodyFormat, c.req.query('format'), c.req.header('accept'));
    let result;
    try {
      result = await store.query(sql, { ...(limit ? { limit } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
    } catch (err) {
      throw storeError(err, timeoutMs ?? 30_000);
    }
    const headers = { 'content-type': CONTENT_TYPES[format], 'x-isoscope-truncated': String(result.truncated), 'x-isoscope-rows': String(result.rows.length) };
    switch (format) {
      case 'csv': return c.body(toCsv(result), 200, headers);
      case 'arrow': return c.body(toArrowStream(result) as Uint8Array<ArrayBuffer>, 200, headers);
      case 'parquet': return c.body(new Uint8Array(await toParquet(result)), 200, headers);
      default: return c.body(toJson(result), 200, headers);
    }
  });
}
