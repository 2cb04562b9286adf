/**
 * InfluxDB line protocol (ILP) written directly into a reused buffer, the same bytes QuestDB's
 * official Node client writes with `protocol_version=2` (docs.questdb.io, "ILP overview"):
 *
 *   table,sym1=a,sym2=b field1=12i,field2=<'=' 0x10 f64 LE>,field3="text" 1733350000000000000\n
 *
 * Symbols (tags) first, null columns left out, doubles in the binary form of protocol version 2
 * (exact, and no number → text → number round trip), integers with an `i` suffix, timestamp
 * columns in nanoseconds with an `n` suffix, the designated timestamp last in nanoseconds (`n` suffix). Escaping
 * follows the client's `writeEscaped`. The client builds a row at ~50k rows/s with per-call
 * checks; this writer precomputes each record type's column prefixes and caches escaped symbol
 * values (they repeat: node, collector, metric), which is what makes it an order faster
 * (bench/ingest-drain.bench.ts).
 */
import type { Column, ColumnBatch, Segment } from '../../schema/column-batch.js';
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

interface FieldPlan {
  name: string;
  kind: ColumnKind;
  /** Where the column is in a segment's `cols`. */
  col: number;
}
interface Plan {
  table: string;
  symbols: { name: string; prefix: string; col: number }[];
  fields: (FieldPlan & { first: string; next: string })[];
  /** The designated timestamp's column. */
  ts: number;
}

const plans = new Map<RecordName, Plan>();

function planFor(name: RecordName): Plan {
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
const SYMBOL_CACHE_MAX = 100_000;

function escapedSymbol(v: string): string {
  let e = symbolCache.get(v);
  if (e === undefined) {
    e = escapeName(v);
    if (symbolCache.size >= SYMBOL_CACHE_MAX) symbolCache.clear();
    symbolCache.set(v, e);
  }
  return e;
}

/** Node's own UTF-8 writer behind Buffer#write, where this Node has it. */
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: (s: string, offset: number) => number }).utf8Write;

/** A growable byte buffer that one request's ILP text is written into, then reused for the next. */
export class IlpBuffer {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 4 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** The bytes written since the last reset (a view: valid until the next write or reset). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (this.pos + extra > size) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** UTF-8 text (at most 3 bytes per UTF-16 unit). */
  text(s: string): void {
    this.ensure(s.length * 3);
    // Buffer#utf8Write skips write()'s argument juggling, a third of the encoder's time (profiled).
    this.pos += utf8Write ? utf8Write.call(this.buf, s, this.pos) : this.buf.write(s, this.pos, 'utf8');
  }

  /** `=` then a protocol-version-2 binary double: type 16, 8 bytes little-endian. */
  binaryDouble(v: number): void {
    this.ensure(10);
    this.buf[this.pos++] = 0x3d;
    this.buf[this.pos++] = 16;
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  /**
   * Appends one ILP line per record (records as the schema validated them: `ts` a bigint,
   * nullable columns null or absent). `table` defaults to the record type's own table.
   */
  append(name: RecordName, records: readonly Record<string, unknown>[], from = 0, to = records.length, table = planFor(name).table): void {
    const { symbols, fields } = planFor(name);
    // Rows of one batch mostly repeat their symbols (node, collector, source …): the table-and-
    // symbols part of the previous row is reused while every symbol value is the same string.
    const last: unknown[] = new Array(symbols.length).fill(NaN);
    let head = '';
    for (let i = from; i < to; i++) {
      const r = records[i]!;
      let same = true;
      for (let k = 0; k < symbols.length; k++) {
        if (r[symbols[k]!.name] !== last[k]) {
          same = false;
          break;
        }
      }
      if (!same) {
        head = table;
        for (let k = 0; k < symbols.length; k++) {
          const s = symbols[k]!;
          const v = r[s.name];
          last[k] = v;
          if (v !== null && v !== undefined) head += s.prefix + escapedSymbol(v as string);
        }
      }
      let line = head;
      let first = true;
      for (const f of fields) {
        const v = r[f.name];
        if (v === null || v === undefined) continue;
        line += first ? f.first : f.next;
        first = false;
        switch (f.kind) {
          case 'double':
            this.text(line);
            line = '';
            this.binaryDouble(v as number);
            break;
          case 'int':
          case 'long': line += `${v as number}i`; break;
          case 'boolean': line += v ? 't' : 'f'; break;
          case 'timestamp': line += `${v as bigint}n`; break;
          case 'json': line += `"${escapeQuoted(JSON.stringify(v))}"`; break;
          default: line += `"${escapeQuoted(v as string)}"`;
        }
      }
      this.text(`${line} ${r.ts as bigint}n\n`);
    }
  }

  /**
   * The same lines as `append` for records held by column (schema/column-batch.ts), byte for byte,
   * without a record object: per segment, constant columns are formatted once (a collector batch
   * shares ts, node, collector, seq …), and only the columns that vary are read per row.
   */
  appendColumns(name: RecordName, batch: ColumnBatch, table = planFor(name).table): void {
    const plan = planFor(name);
    for (const seg of batch.segments) {
      if (seg.n === 0) continue;
      const steps = compileSegment(plan, seg, table);
      if (steps) this.appendSteps(steps, seg.n);
      else this.appendSegment(plan, seg, table);
    }
  }

  /**
   * A segment's rows as bytes, step by step (see compileSegment): constant runs of bytes copied,
   * integers written as ASCII digits, doubles in binary, a row's head (table and symbols) looked up
   * by its varying symbol values; no string is built per row except for text fields.
   */
  private appendSteps(steps: Step[], n: number): void {
    let head: Uint8Array = EMPTY;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < steps.length; k++) {
        const st = steps[k]!;
        switch (st.t) {
          case BYTES:
            this.raw(st.bytes);
            break;
          case HEAD: {
            // Rows of a batch mostly repeat the previous row's symbols: then its head is reused.
            let same = head !== EMPTY;
            for (let k = 0; k < st.varying.length; k++) {
              const v = valueOf(st.cols[st.varying[k]!]!, i);
              if (v !== st.last[k]) {
                st.last[k] = v;
                same = false;
              }
            }
            if (!same) {
              // This segment's heads by its varying symbol values (one Map level each: no key string
              // per row), filled from the cache shared by segments.
              let node = st.tree;
              const m = st.varying.length;
              for (let k = 0; k < m - 1; k++) {
                let next = node.get(st.last[k]) as Map<unknown, unknown> | undefined;
                if (next === undefined) node.set(st.last[k], (next = new Map()));
                node = next;
              }
              let bytes = node.get(st.last[m - 1]) as Uint8Array | undefined;
              if (bytes === undefined) node.set(st.last[m - 1], (bytes = headBytes(st, headKey(st, i), i)));
              head = bytes;
            }
            this.raw(head);
            break;
          }
          case INT:
            this.ensure(24);
            this.pos = writeInt(this.buf, this.pos, st.values !== null ? (st.values[i] as number) : st.run + i);
            this.buf[this.pos++] = 0x69; // i
            break;
          case DOUBLE:
            this.ensure(10);
            this.buf[this.pos++] = 0x3d;
            this.buf[this.pos++] = 16;
            this.pos = this.buf.writeDoubleLE(st.values![i] as number, this.pos);
            break;
          case TIMESTAMP:
            this.text(`${st.values![i] as bigint}${st.suffix}`);
            break;
          default:
            this.text(fieldText(st.kind, st.values![i]));
        }
      }
    }
  }

  /** Bytes as they are. */
  private raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    if (n > 32) {
      this.buf.set(bytes, this.pos);
      this.pos += n;
    } else for (let k = 0; k < n; k++) this.buf[this.pos++] = bytes[k]!;
  }

  /** The row-by-row writer: segments the step writer does not take (a field column with nulls). */
  private appendSegment(plan: Plan, seg: Segment, table: string): void {
    const n = seg.n;
    // The table-and-symbols head: fixed for the segment when every symbol column is constant.
    const varying = plan.symbols.filter((s) => isVarying(seg.cols[s.col] ?? null));
    let fixedHead: string | null = null;
    if (varying.length === 0) {
      fixedHead = table;
      for (const s of plan.symbols) {
        const v = constOf(seg.cols[s.col] ?? null);
        if (v !== null) fixedHead += s.prefix + escapedSymbol(v as string);
      }
    }
    const symbolCols = plan.symbols.map((s) => seg.cols[s.col] ?? null);
    // Fields: absent or constant-null ones dropped; constant text formatted once (not doubles: binary).
    const fields: SegmentField[] = [];
    for (const f of plan.fields) {
      const col = seg.cols[f.col] ?? null;
      if (col === null || ('c' in col && (col.c === null || col.c === undefined))) continue;
      const text = 'c' in col && f.kind !== 'double' ? fieldText(f.kind, col.c) : null;
      fields.push({ kind: f.kind, first: f.first, next: f.next, values: 'a' in col ? col.a : null, run: 'r' in col ? col.r : null, c: 'c' in col ? col.c : null, text });
    }
    const tsCol = seg.cols[plan.ts] ?? null;
    const tsValues = tsCol !== null && 'a' in tsCol ? tsCol.a : null;
    const tsText = tsValues ? '' : ` ${constOf(tsCol) as bigint}n\n`;
    const last: unknown[] = new Array(plan.symbols.length).fill(NaN);
    let head = fixedHead ?? '';
    for (let i = 0; i < n; i++) {
      if (fixedHead === null) {
        let same = true;
        for (let k = 0; k < symbolCols.length; k++) {
          if (valueOf(symbolCols[k]!, i) !== last[k]) {
            same = false;
            break;
          }
        }
        if (!same) {
          head = table;
          for (let k = 0; k < symbolCols.length; k++) {
            const v = valueOf(symbolCols[k]!, i);
            last[k] = v;
            if (v !== null && v !== undefined) head += plan.symbols[k]!.prefix + escapedSymbol(v as string);
          }
        }
      }
      let line = head;
      let first = true;
      for (let k = 0; k < fields.length; k++) {
        const f = fields[k]!;
        let v: unknown;
        if (f.values !== null) {
          v = f.values[i];
          if (v === null || v === undefined) continue;
        } else v = f.run !== null ? f.run + i : f.c;
        line += first ? f.first : f.next;
        first = false;
        if (f.text !== null) line += f.text;
        else if (f.kind === 'double') {
          this.text(line);
          line = '';
          this.binaryDouble(v as number);
        } else line += fieldText(f.kind, v);
      }
      this.text(tsValues ? `${line} ${tsValues[i] as bigint}n\n` : line + tsText);
    }
  }
}

/** One field column of a segment, as the row loop reads it. */
interface SegmentField {
  kind: ColumnKind;
  first: string;
  next: string;
  values: readonly unknown[] | null;
  run: number | null;
  c: unknown;
  /** The constant's ILP text (after `=`), formatted once; null when read per row or a double. */
  text: string | null;
}

/** A field value's ILP text after `=` (not for doubles, which are written binary). */
function fieldText(kind: ColumnKind, v: unknown): string {
  switch (kind) {
    case 'int':
    case 'long': return `${v as number}i`;
    case 'boolean': return v ? 't' : 'f';
    case 'timestamp': return `${v as bigint}n`;
    case 'json': return `"${escapeQuoted(JSON.stringify(v))}"`;
    default: return `"${escapeQuoted(v as string)}"`;
  }
}

function isVarying(col: Column | null): boolean {
  return col !== null && !('c' in col);
}

function constOf(col: Column | null): unknown {
  return col !== null && 'c' in col ? col.c : null;
}

function valueOf(col: Column | null, i: number): unknown {
  if (col === null) return null;
  if ('a' in col) return col.a[i];
  if ('r' in col) return col.r + i;
  return col.c;
}

const EMPTY = new Uint8Array(0);
const BYTES = 0;
const HEAD = 1;
const INT = 2;
const DOUBLE = 3;
const TIMESTAMP = 4;
const TEXT = 5;

/** One step of writing a segment's row (compileSegment). */
type Step =
  | { t: typeof BYTES; bytes: Uint8Array }
  | { t: typeof HEAD; cols: (Column | null)[]; symbols: Plan['symbols']; table: string; prefix: string; cache: Map<string, Uint8Array>; varying: number[]; last: unknown[]; tree: Map<unknown, unknown> }
  | { t: typeof INT; values: readonly unknown[] | null; run: number }
  | { t: typeof DOUBLE; values: readonly unknown[] | null }
  | { t: typeof TIMESTAMP; values: readonly unknown[] | null; suffix: string }
  | { t: typeof TEXT; kind: ColumnKind; values: readonly unknown[] | null };

/** Heads of rows by their symbol values, shared by segments (a collector's next batch repeats them). */
const headCache = new Map<string, Uint8Array>();

/**
 * The steps that write each row of a segment, or null when a field column has nulls (its row's
 * field separators then differ row by row: the row writer takes it). Runs of constant text (a
 * constant field with its name, the separators, a constant ts) are merged into one byte string.
 */
function compileSegment(plan: Plan, seg: Segment, table: string): Step[] | null {
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
    steps.push({ t: HEAD, cols: symbolCols, symbols: plan.symbols, table, prefix, cache: headCache, varying, last: varying.map(() => NaN), tree: new Map() });
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

/** A row's key into the head cache: the segment's constant symbols and the row's varying ones. */
function headKey(st: Extract<Step, { t: typeof HEAD }>, i: number): string {
  let key = st.prefix;
  for (let k = 0; k < st.varying.length; k++) key += keyPart(valueOf(st.cols[st.varying[k]!]!, i));
  return key;
}

/** A value's part of a head key, length-prefixed so no two lists of values give the same key. */
function keyPart(v: unknown): string {
  if (v === null || v === undefined) return '-';
  const text = v as string;
  return `${text.length}:${text}`;
}

function headBytes(st: Extract<Step, { t: typeof HEAD }>, key: string, i: number): Uint8Array {
  let bytes = st.cache.get(key);
  if (bytes === undefined) {
    let head = st.table;
    for (let k = 0; k < st.cols.length; k++) {
      const v = valueOf(st.cols[k]!, i);
      if (v !== null && v !== undefined) head += st.symbols[k]!.prefix + escapedSymbol(v as string);
    }
    bytes = new Uint8Array(Buffer.from(head, 'utf8'));
    if (st.cache.size >= SYMBOL_CACHE_MAX) st.cache.clear();
    st.cache.set(key, bytes);
  }
  return bytes;
}

/** Writes an integer (|v| < 2^53) as ASCII digits at `pos`; returns the position after it. */
function writeInt(buf: Buffer, pos: number, v: number): number {
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
