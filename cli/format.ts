/** Renders query results for the terminal (table), for programs (json) and for spreadsheets (csv). */
import type { QueryResult } from '../store/store.js';
import { toJson } from '../query/json.js';

export type OutputFormat = 'table' | 'json' | 'csv';

export function formatResult(result: QueryResult & { truncated: boolean }, format: OutputFormat): string {
  if (format === 'json') return toJson(result) + '\n';
  const names = result.columns.map((c) => c.name);
  if (format === 'csv') {
    // An absent value is an empty field, as spreadsheets and CSV readers expect (a table shows NULL).
    const cells = result.rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : cellText(v))));
    const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
    return [names, ...cells].map((r) => r.map(esc).join(',')).join('\n') + '\n';
  }
  const cells = result.rows.map((r) => r.map(cellText));
  const widths = names.map((n, i) => Math.min(60, Math.max(n.length, ...cells.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (c.length > widths[i]! ? c.slice(0, widths[i]! - 1) + '…' : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(names), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${result.truncated ? ', truncated: raise --limit' : ''})`);
  return out.join('\n') + '\n';
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return toJson(v);
  return String(v);
}
