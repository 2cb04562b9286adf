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
 * (bench/ingest-drain.bench.ts). The per-type plans and field spelling are in ilp-plan.ts, the
 * compiled steps of a column segment in ilp-steps.ts; this file writes the bytes.
 */
import type { ColumnBatch, Segment } from '../../schema/column-batch.js';
import type { ColumnKind } from '../../schema/columns.js';
import type { RecordName } from '../../schema/records.js';
import { constOf, escapedSymbol, escapeQuoted, fieldText, isVarying, planFor, valueOf, type Plan } from './ilp-plan.js';
import { BYTES, compileSegment, DOUBLE, EMPTY, HEAD, headBytes, INT, noteTreeHead, TIMESTAMP, writeInt, type Step } from './ilp-steps.js';

export { escapeName, escapeQuoted } from './ilp-plan.js';

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
              // The heads of this segment's shape by its varying symbol values (one Map level each: no
              // key string per row; shared by segments, ilp-steps.ts); a leaf they miss is built here.
              let node = st.tree;
              const m = st.varying.length;
              for (let k = 0; k < m - 1; k++) {
                let next = node.get(st.last[k]) as Map<unknown, unknown> | undefined;
                if (next === undefined) node.set(st.last[k], (next = new Map()));
                node = next;
              }
              let bytes = node.get(st.last[m - 1]) as Uint8Array | undefined;
              if (bytes === undefined) {
                node.set(st.last[m - 1], (bytes = headBytes(st, i)));
                noteTreeHead();
              }
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
