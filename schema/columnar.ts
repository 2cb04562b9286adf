/**
 * Schema version 2: one message carries a batch of one record type column by column,
 *   {"v":2,"type":"samples","n":500,"cols":{"ts":{"c":"1795…"},"node":{"c":"n1"},"idx":{"r":0},
 *    "value":[0.5,1.25,…],"cgroup":[null,"/a",…]}}
 * A column is a constant `{"c":v}` (a collector batch shares ts, node, collector, seq …), a run
 * `{"r":k}` of consecutive integers k, k+1 … (idx), or an array of n values (null = no value); a
 * column left out has no value in any record. Decoding checks each column in one tight loop (a
 * constant once) instead of every field of every record, and builds the records from the columns;
 * a message with anything wrong falls back to the per-record path of version 1, so each bad record
 * is named with zod's message as before. Version 2 does not tell a null from an absent nullable
 * field: both are stored as NULL. Timestamps travel as decimal strings, as in version 1.
 */
import type { Column, Segment } from './column-batch.js';
import type { ColumnSpec } from './columns.js';
import { defaultFill, valueCheck, type ValueCheck } from './fast-validate.js';
import { definitionOf, type RecordName } from './records.js';

/** The body of a version-2 message. */
export interface ColumnarBody {
  v: 2;
  type: RecordName;
  n: number;
  cols: Record<string, { c: unknown } | { r: number } | unknown[]>;
}

const TS_TEXT = /^-?\d{1,21}$/;

/** The column-wise body of `records`, or null when one has a field the schema does not know (v1 carries those to validation). */
export function columnarBody(type: RecordName, records: readonly Record<string, unknown>[]): ColumnarBody | null {
  const def = definitionOf(type);
  const names = Object.keys(def.columns);
  const known = new Set(names);
  for (const r of records) for (const k in r) if (!known.has(k)) return null;
  const n = records.length;
  const cols: ColumnarBody['cols'] = {};
  for (const name of names) {
    const ts = def.columns[name]!.kind === 'timestamp';
    const first = records[0]?.[name];
    let present = false;
    let constant = true;
    let run = typeof first === 'number' && Number.isSafeInteger(first) && Number.isSafeInteger(first + n);
    for (let i = 0; i < n; i++) {
      const v = records[i]![name];
      if (v !== undefined) present = true;
      if (v !== first) constant = false;
      if (run && v !== (first as number) + i) run = false;
    }
    if (!present) continue;
    const out = (v: unknown) => (v === undefined ? null : ts && typeof v === 'bigint' ? v.toString() : v);
    if (constant) cols[name] = { c: out(first) };
    else if (run && n > 1) cols[name] = { r: first as number };
    else {
      const values = new Array<unknown>(n);
      for (let i = 0; i < n; i++) values[i] = out(records[i]![name]);
      cols[name] = values;
    }
  }
  return { v: 2, type, n, cols };
}

interface Plan {
  names: string[];
  specs: ColumnSpec[];
  checks: ValueCheck[];
  fills: ((() => unknown) | null)[];
  known: Set<string>;
}
const plans = new Map<RecordName, Plan>();
function planFor(type: RecordName): Plan {
  let p = plans.get(type);
  if (!p) {
    const entries = Object.entries(definitionOf(type).columns);
    p = {
      names: entries.map(([n]) => n),
      specs: entries.map(([, s]) => s),
      checks: entries.map(([, s]) => valueCheck(s)),
      fills: entries.map(([, s]) => defaultFill(s)),
      known: new Set(entries.map(([n]) => n)),
    };
    plans.set(type, p);
  }
  return p;
}

/** A column as read: how to get record i's value (undefined: absent). */
type Getter = (i: number) => unknown;

export type ColumnarResult =
  /** Valid: the columns as they came (a segment), and the records built from them on demand. */
  | { ok: true; segment: Segment; records: () => Record<string, unknown>[] }
  /** Something is wrong: `fatal` for the whole message, else `raw` records for the per-record path. */
  | { ok: false; fatal: string }
  | { ok: false; raw: Record<string, unknown>[] };

/** Reads a version-2 body (already JSON-parsed, `type` checked); validates column-wise. */
export function decodeColumnar(body: Record<string, unknown>, type: RecordName): ColumnarResult {
  const { n, cols } = body;
  if (!Number.isSafeInteger(n) || (n as number) < 0) return { ok: false, fatal: '"n" must be the number of records (an integer ≥ 0)' };
  if (typeof cols !== 'object' || cols === null || Array.isArray(cols)) return { ok: false, fatal: '"cols" must be an object of columns' };
  const plan = planFor(type);
  const count = n as number;
  for (const k in cols) if (!plan.known.has(k)) return { ok: false, fatal: `unknown column "${k}" for ${type} records` };
  const getters: (Getter | null)[] = [];
  const columns: (Column | null)[] = [];
  let valid = true;
  for (let c = 0; c < plan.names.length; c++) {
    const name = plan.names[c]!;
    const spec = plan.specs[c]!;
    const check = plan.checks[c]!;
    const raw = (cols as Record<string, unknown>)[name];
    const ts = spec.kind === 'timestamp';
    if (raw === undefined) {
      getters.push(null);
      const fill = plan.fills[c];
      columns.push(fill ? { c: fill() } : null);
      if (!spec.nullable && !fill) valid = false;
      continue;
    }
    if (Array.isArray(raw)) {
      if (raw.length !== count) return { ok: false, fatal: `column "${name}" has ${raw.length} values for ${count} records` };
      const values = ts ? raw.map((v) => (typeof v === 'string' && TS_TEXT.test(v) ? BigInt(v) : v)) : raw;
      getters.push((i) => values[i]);
      columns.push({ a: values });
      if (valid) {
        for (let i = 0; i < count; i++) {
          const v = values[i];
          if (v === null ? !spec.nullable : !check(v)) {
            valid = false;
            break;
          }
        }
      }
      continue;
    }
    if (typeof raw === 'object' && raw !== null && 'c' in raw) {
      const given = (raw as { c: unknown }).c;
      const v = ts && typeof given === 'string' && TS_TEXT.test(given) ? BigInt(given) : given;
      getters.push(() => v);
      columns.push({ c: v });
      if (v === null ? !spec.nullable : !check(v)) valid = false;
      continue;
    }
    if (typeof raw === 'object' && raw !== null && 'r' in raw && Number.isSafeInteger((raw as { r: unknown }).r)) {
      const k = (raw as { r: number }).r;
      getters.push((i) => k + i);
      columns.push({ r: k });
      if (count > 0 && (!check(k) || !check(k + count - 1))) valid = false;
      continue;
    }
    return { ok: false, fatal: `column "${name}" must be an array of ${count} values, {"c": value} or {"r": first integer}` };
  }
  if (!valid) return { ok: false, raw: rawRecords(plan, getters, count) };
  return {
    ok: true,
    segment: { n: count, cols: columns },
    records: () => {
      const build = builderFor(type, plan, getters);
      const records = new Array<Record<string, unknown>>(count);
      for (let i = 0; i < count; i++) records[i] = build(getters, plan.fills, i);
      return records;
    },
  };
}

type Builder = (getters: (Getter | null)[], fills: ((() => unknown) | null)[], i: number) => Record<string, unknown>;
const builders = new Map<string, Builder>();

/**
 * A function building record i as one object literal with the columns in schema order, compiled
 * once per record type and set of columns present. Records built key by key (`r[name] = …`) took
 * a dictionary-like shape each: slower to build, and every later reader (tagging, the ILP writer)
 * saw many shapes (profiled: a fifth of decoding went into building them). The generated source
 * holds only the schema's own column names (JSON-quoted), never data.
 */
function builderFor(type: RecordName, plan: Plan, getters: (Getter | null)[]): Builder {
  const key = `${type}:${getters.map((g, c) => (g ? 'g' : plan.fills[c] ? 'f' : '-')).join('')}`;
  let build = builders.get(key);
  if (!build) {
    const fields: string[] = [];
    getters.forEach((g, c) => {
      const name = JSON.stringify(plan.names[c]!);
      if (g) fields.push(`${name}: g[${c}](i)`);
      else if (plan.fills[c]) fields.push(`${name}: f[${c}]()`);
    });
    build = new Function('g', 'f', 'i', `return { ${fields.join(', ')} };`) as Builder;
    builders.set(key, build);
  }
  return build;
}

/** The records as version 1 would have carried them (timestamps as text), for per-record reasons. */
function rawRecords(plan: Plan, getters: (Getter | null)[], count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const r: Record<string, unknown> = {};
    for (let c = 0; c < getters.length; c++) {
      const v = getters[c]?.(i);
      if (v !== undefined) r[plan.names[c]!] = typeof v === 'bigint' ? v.toString() : v;
    }
    return r;
  });
}
