/**
 * What the direct ILP writer (ilp-text.ts) knows of each record type before it writes a row: the
 * escaped table name and column prefixes in the order QuestDB's client writes them (symbols first,
 * the designated timestamp last), escaped symbol values by value, and how a field value is spelled.
 * Read by both the record writer and the column writer, so their bytes cannot drift apart.
 */
import type { Column } from '../../schema/column-batch.js';
import type { ColumnKind } from '../../schema/columns.js';
import { definitionOf, type RecordName } from '../../schema/records.js';

/** Escapes a table name, column name or symbol value (unquoted ILP text). */
export function escapeName(s: string): string {
  return /[ ,=\n\r\\]/.test(s) ? s.replace(/[ ,=\n\r\\]/g, (c) => `\\${c}`) : s;
}

/** Escapes the content of a quoted string field (`"` and `\`, and line breaks). */
export function escapeQuoted(s: string): string {
  return /["\n\r\\]/.test(s) ? s.replace(/["\n\r\\]/g, (c) => `\\${c}`) : s;
}

export interface FieldPlan {
  name: string;
  kind: ColumnKind;
  /** Where the column is in a segment's `cols`. */
  col: number;
}
export interface Plan {
  table: string;
  symbols: { name: string; prefix: string; col: number }[];
  fields: (FieldPlan & { first: string; next: string })[];
  /** The designated timestamp's column. */
  ts: number;
}

const plans = new Map<RecordName, Plan>();

export function planFor(name: RecordName): Plan {
  let plan = plans.get(name);
  if (plan) return plan;
  const cols = Object.entries(definitionOf(name).columns).map(([n, c], col) => ({ n, c, col }));
  plan = {
    table: escapeName(name),
    symbols: cols.filter(({ c }) => c.kind === 'symbol').map(({ n, col }) => ({ name: n, prefix: `,${escapeName(n)}=`, col })),
    fields: cols
      .filter(({ n, c }) => c.kind !== 'symbol' && n !== 'ts')
      .map(({ n, c, col }) => ({ name: n, kind: c.kind, col, first: ` ${escapeName(n)}=`, next: `,${escapeName(n)}=` })),
    ts: cols.findIndex(({ n }) => n === 'ts'),
  };
  plans.set(name, plan);
  return plan;
}

/** Escaped symbol values, kept while there are few enough of them to be worth it. */
const symbolCache = new Map<string, string>();
export const SYMBOL_CACHE_MAX = 100_000;

export function escapedSymbol(v: string): string {
  let e = symbolCache.get(v);
  if (e === undefined) {
    e = escapeName(v);
    if (symbolCache.size >= SYMBOL_CACHE_MAX) symbolCache.clear();
    symbolCache.set(v, e);
  }
  return e;
}

/** A field value's ILP text after `=` (not for doubles, which are written binary). */
export function fieldText(kind: ColumnKind, v: unknown): string {
  switch (kind) {
    case 'int':
    case 'long': return `${v as number}i`;
    case 'boolean': return v ? 't' : 'f';
    case 'timestamp': return `${v as bigint}n`;
    case 'json': return `"${escapeQuoted(JSON.stringify(v))}"`;
    default: return `"${escapeQuoted(v as string)}"`;
  }
}

export function isVarying(col: Column | null): boolean {
  return col !== null && !('c' in col);
}

export function constOf(col: Column | null): unknown {
  return col !== null && 'c' in col ? col.c : null;
}

export function valueOf(col: Column | null, i: number): unknown {
  if (col === null) return null;
  if ('a' in col) return col.a[i];
  if ('r' in col) return col.r + i;
  return col.c;
}
