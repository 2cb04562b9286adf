/**
 * A column segment compiled into the steps that write each of its rows (ilp-text.ts runs them):
 * runs of constant bytes merged once per segment, then per row only the columns that vary: a row's
 * head (table and symbols) looked up by its varying symbol values, integers as ASCII digits, doubles
 * in binary.
 */
import type { Column, Segment } from '../../schema/column-batch.js';
import type { ColumnKind } from '../../schema/columns.js';
import { constOf, escapedSymbol, fieldText, isVarying, SYMBOL_CACHE_MAX, valueOf, type Plan } from './ilp-plan.js';

export const EMPTY = new Uint8Array(0);
export const BYTES = 0;
export const HEAD = 1;
export const INT = 2;
export const DOUBLE = 3;
export const TIMESTAMP = 4;
export const TEXT = 5;

/** One step of writing a segment's row (compileSegment). */
export type Step =
  | { t: typeof BYTES; bytes: Uint8Array }
  | { t: typeof HEAD; cols: (Column | null)[]; symbols: Plan['symbols']; table: string; varying: number[]; last: unknown[]; tree: Map<unknown, unknown> }
  | { t: typeof INT; values: readonly unknown[] | null; run: number }
  | { t: typeof DOUBLE; values: readonly unknown[] | null }
  | { t: typeof TIMESTAMP; values: readonly unknown[] | null; suffix: string }
  | { t: typeof TEXT; kind: ColumnKind; values: readonly unknown[] | null };

/**
 * Per segment shape (table, constant symbols, which symbols vary), the heads by the varying symbol
 * values, one Map level per varying column, shared by segments: a collector's next message walks the
 * same tree and builds no key string for a head it has seen (a tree per segment rebuilt every key:
 * about 6 % of ingest's main thread in profiles). The trees are the only cache of head bytes: a
 * leaf they miss builds its head (headBytes). Bounded: all trees are dropped once they hold
 * SYMBOL_CACHE_MAX heads.
 */
const headTrees = new Map<string, Map<unknown, unknown>>();
let treeHeads = 0;

function treeFor(prefix: string, varying: number[]): Map<unknown, unknown> {
  const key = `${varying.join(',')}|${prefix}`;
  let tree = headTrees.get(key);
  if (tree === undefined) headTrees.set(key, (tree = new Map()));
  return tree;
}

/** Counts a head added to a tree; past the bound every tree is dropped (segments under way keep theirs). */
export function noteTreeHead(): void {
  if (++treeHeads > SYMBOL_CACHE_MAX) {
    headTrees.clear();
    treeHeads = 0;
  }
}

/**
 * The steps that write each row of a segment, or null when a field column has nulls (its row's
 * field separators then differ row by row: the row writer takes it). Runs of constant text (a
 * constant field with its name, the separators, a constant ts) are merged into one byte string.
 */
export function compileSegment(plan: Plan, seg: Segment, table: string): Step[] | null {
  const steps: Step[] = [];
  let pending: Buffer[] = [];
  let text = '';
  const flushText = () => {
    if (text !== '') pending.push(Buffer.from(text, 'utf8'));
    text = '';
  };
  const flush = () => {
    flushText();
    if (pending.length > 0) steps.push({ t: BYTES, bytes: new Uint8Array(Buffer.concat(pending)) });
    pending = [];
  };
  const symbolCols = plan.symbols.map((s) => seg.cols[s.col] ?? null);
  if (symbolCols.some(isVarying)) {
    // The constant symbols are part of the key: the same metric names another row elsewhere.
    let prefix = keyPart(table);
    for (let k = 0; k < symbolCols.length; k++) prefix += keyPart(constOf(symbolCols[k]!));
    const varying = symbolCols.flatMap((c, k) => (isVarying(c) ? [k] : []));
    steps.push({ t: HEAD, cols: symbolCols, symbols: plan.symbols, table, varying, last: varying.map(() => NaN), tree: treeFor(prefix, varying) });
  } else {
    text = table;
    for (let k = 0; k < symbolCols.length; k++) {
      const v = constOf(symbolCols[k]!);
      if (v !== null && v !== undefined) text += plan.symbols[k]!.prefix + escapedSymbol(v as string);
    }
  }
  let first = true;
  for (const f of plan.fields) {
    const col = seg.cols[f.col] ?? null;
    if (col === null || ('c' in col && (col.c === null || col.c === undefined))) continue;
    if ('a' in col) for (const v of col.a) if (v === null || v === undefined) return null;
    text += first ? f.first : f.next;
    first = false;
    if ('c' in col) {
      if (f.kind !== 'double') text += fieldText(f.kind, col.c);
      else {
        flushText();
        const b = Buffer.allocUnsafe(10);
        b[0] = 0x3d;
        b[1] = 16;
        b.writeDoubleLE(col.c as number, 2);
        pending.push(b);
      }
      continue;
    }
    const values = 'a' in col ? col.a : null;
    flush();
    if (f.kind === 'int' || f.kind === 'long') steps.push({ t: INT, values, run: 'r' in col ? col.r : 0 });
    else if ('r' in col) return null; // a run of a non-integer column: not ours to guess
    else if (f.kind === 'double') steps.push({ t: DOUBLE, values });
    else if (f.kind === 'timestamp') steps.push({ t: TIMESTAMP, values, suffix: 'n' });
    else steps.push({ t: TEXT, kind: f.kind, values });
  }
  const ts = seg.cols[plan.ts] ?? null;
  if (ts === null || 'r' in ts) return null;
  if ('c' in ts) text += ` ${ts.c as bigint}n\n`;
  else {
    for (const v of ts.a) if (typeof v !== 'bigint') return null;
    text += ' ';
    flush();
    steps.push({ t: TIMESTAMP, values: ts.a, suffix: 'n\n' });
  }
  flush();
  return steps;
}

/** A value's part of a tree's key, length-prefixed so no two lists of values give the same key. */
function keyPart(v: unknown): string {
  if (v === null || v === undefined) return '-';
  const text = v as string;
  return `${text.length}:${text}`;
}

/** Row i's head (table and symbols) as bytes, for a leaf of its shape's tree. */
export function headBytes(st: Extract<Step, { t: typeof HEAD }>, i: number): Uint8Array {
  let head = st.table;
  for (let k = 0; k < st.cols.length; k++) {
    const v = valueOf(st.cols[k]!, i);
    if (v !== null && v !== undefined) head += st.symbols[k]!.prefix + escapedSymbol(v as string);
  }
  return new Uint8Array(Buffer.from(head, 'utf8'));
}

/** Writes an integer (|v| < 2^53) as ASCII digits at `pos`; returns the position after it. */
export function writeInt(buf: Buffer, pos: number, v: number): number {
  if (v < 0) {
    buf[pos++] = 0x2d;
    v = -v;
  }
  if (v < 10) {
    buf[pos++] = 0x30 + v;
    return pos;
  }
  let digits = 0;
  for (let x = v; x >= 1; x = Math.floor(x / 10)) digits++;
  let at = pos + digits;
  const end = at;
  while (at > pos) {
    const q = Math.floor(v / 10);
    buf[--at] = 0x30 + (v - q * 10);
    v = q;
  }
  return end;
}
