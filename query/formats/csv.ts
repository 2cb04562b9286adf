/** RFC 4180 CSV of a query result: a header row, CRLF-free (\n), quotes doubled, JSON for nested values. */
import type { QueryResult } from '../../store/store.js';
import { toJson } from '../json.js';

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? toJson(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** @example toCsv({ columns: [{ name: 'a', type: 'integer' }], rows: [[1]] }) // "a\n1\n" */
export function toCsv(result: QueryResult): string {
  return [result.columns.map((c) => text(c.name)), ...result.rows.map((r) => r.map(text))].map((r) => r.join(',')).join('\n') + '\n';
}
