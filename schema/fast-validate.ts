/**
 * The hot path of record validation: plain type and range checks compiled once per record type
 * from the column declarations, about an order faster than a zod parse per record. It only ever
 * says "valid" for records zod accepts too; anything it is not sure about (a wrong type, a value
 * out of range, an unknown field, NaN …) goes to zod, so a bad record gets exactly zod's error
 * messages and zod stays the one definition of what is valid (schema/fast-validate.test.ts checks
 * both agree, record for record).
 */
import type { ColumnSpec } from './columns.js';
import { definitionOf, type RecordName } from './records.js';

/** Checks one record in place: true when valid (absent defaulted columns are then filled in). */
export type FastCheck = (record: Record<string, unknown>) => boolean;

const MAX_TS = 2n ** 63n - 1n;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

export type ValueCheck = (v: unknown) => boolean;

/** The check of one non-null value of a column. */
export function valueCheck(spec: ColumnSpec): ValueCheck {
  const max = spec.check?.maxLength ?? Infinity;
  const values = spec.check?.values ? new Set(spec.check.values) : null;
  switch (spec.kind) {
    case 'timestamp': return (v) => typeof v === 'bigint' && v >= 0n && v <= MAX_TS;
    case 'symbol':
      if (values) return (v) => typeof v === 'string' && values.has(v);
      return (v) => typeof v === 'string' && v.length >= 1 && v.length <= max;
    case 'string': return (v) => typeof v === 'string' && v.length <= max;
    case 'long': return (v) => Number.isSafeInteger(v);
    case 'int': return (v) => Number.isInteger(v) && (v as number) >= INT_MIN && (v as number) <= INT_MAX;
    case 'double': return (v) => typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return (v) => typeof v === 'boolean';
    case 'json': return (v) => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
  }
}

/** What fills in an absent column, or null when it has no default. */
export function defaultFill(spec: ColumnSpec): (() => unknown) | null {
  const d = spec.check?.default;
  // A fresh copy per record for object defaults: records are mutated later (tagging).
  return d ? (typeof d.value === 'object' && d.value !== null ? () => ({ ...(d.value as object) }) : () => d.value) : null;
}

interface Column {
  name: string;
  check: ValueCheck;
  nullable: boolean;
  fill: (() => unknown) | null;
}

function compile(name: RecordName): FastCheck {
  const specs = Object.entries(definitionOf(name).columns);
  const known = new Set(specs.map(([n]) => n));
  const columns: Column[] = specs.map(([n, spec]) => {
    const fill = defaultFill(spec);
    return { name: n, check: valueCheck(spec), nullable: spec.nullable, fill };
  });
  return (record) => {
    let seen = 0; // known columns the record now has
    for (const c of columns) {
      const v = record[c.name];
      if (v === undefined) {
        if (c.name in record) return false; // an explicit undefined: let zod decide
        if (c.fill) {
          record[c.name] = c.fill();
          seen++;
        } else if (!c.nullable) return false;
        continue;
      }
      seen++;
      if (v === null ? !c.nullable : !c.check(v)) return false;
    }
    // Strict: more keys than known columns present means a field the schema does not know.
    let keys = 0;
    for (const _ in record) keys++;
    return keys === seen;
  };
}

const checks = new Map<RecordName, FastCheck>();

/** The compiled check of a record type. */
export function fastCheck(name: RecordName): FastCheck {
  let check = checks.get(name);
  if (!check) checks.set(name, (check = compile(name)));
  return check;
}
