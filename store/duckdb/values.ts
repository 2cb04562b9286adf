/**
 * Value conversions of the DuckDB store, both ways: record fields → Appender calls by column kind
 * (timestamp bigint ns → TIMESTAMP_NS, json → VARCHAR text, absent → NULL), and query results →
 * JSON-friendly values (64/128-bit integers as numbers when exact, else decimal strings; every
 * timestamp as an ISO-8601 UTC string with nanoseconds, e.g. `2026-11-24T16:13:00.123456789Z`).
 */
import {
  DuckDBTimestampNanosecondsValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
} from '@duckdb/node-api';
import type { ColumnSpec } from '../../schema/columns.js';

/** TIMESTAMP_NS is a signed 64-bit count of ns; its largest value means +infinity. */
const MAX_TIMESTAMP_NS = 2n ** 63n - 1n;

/** Appends one field by its column kind; null/undefined become NULL. */
export function appendField(appender: DuckDBAppender, spec: ColumnSpec, value: unknown): void {
  if (value === null || value === undefined) return appender.appendNull();
  switch (spec.kind) {
    case 'timestamp':
      if ((value as bigint) >= MAX_TIMESTAMP_NS) throw new Error(`expected nanoseconds before ${isoNanos(MAX_TIMESTAMP_NS)} (the TIMESTAMP_NS range), got ${value}`);
      return appender.appendTimestampNanoseconds(new DuckDBTimestampNanosecondsValue(value as bigint));
    case 'symbol':
    case 'string':
      return appender.appendVarchar(value as string);
    case 'long':
      return appender.appendBigInt(BigInt(value as number));
    case 'int':
      return appender.appendInteger(value as number);
    case 'double':
      return appender.appendDouble(value as number);
    case 'boolean':
      return appender.appendBoolean(value as boolean);
    case 'json':
      return appender.appendVarchar(JSON.stringify(value));
  }
}

/**
 * Keeps the last of records sharing the same dedup keys, in their original order otherwise:
 * INSERT OR REPLACE refuses to touch one key twice in a statement, and "last wins" is what a
 * replayed batch would do anyway.
 */
export function lastPerKey<T extends Record<string, unknown>>(records: readonly T[], keys: readonly string[]): T[] {
  const byKey = new Map<string, number>();
  records.forEach((r, i) => byKey.set(keys.map((k) => String(r[k])).join('\u0000'), i));
  if (byKey.size === records.length) return records as T[];
  const keep = new Set(byKey.values());
  return records.filter((_, i) => keep.has(i));
}

const NS_PER_MS = 1_000_000n;

/** Integer nanoseconds since the epoch → `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. */
export function isoNanos(ns: bigint): string {
  let ms = ns / NS_PER_MS;
  if (ns < 0n && ms * NS_PER_MS !== ns) ms -= 1n; // floor, for times before 1970
  const fraction = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // …T16:13:00.123Z
  return `${iso.slice(0, iso.lastIndexOf('.'))}.${fraction.toString().padStart(9, '0')}Z`;
}

type Timestampish = { isFinite: boolean; nanos?: bigint; micros?: bigint; millis?: bigint; seconds?: bigint };

function timestampToIso(value: DuckDBValue): string {
  const t = value as unknown as Timestampish;
  if (!t.isFinite) return String(value); // 'infinity' / '-infinity'
  const ns = t.nanos ?? (t.micros !== undefined ? t.micros * 1000n : t.millis !== undefined ? t.millis * NS_PER_MS : t.seconds! * 1_000_000_000n);
  return isoNanos(ns);
}

function exactNumber(value: DuckDBValue): number | string {
  const n = value as bigint;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/**
 * Converts result values for JSON clients. Types not handled here keep node-api's JSON
 * conversion (DATE and TIME as text, non-finite doubles as "NaN"/"Infinity", nested types as
 * arrays and objects converted with this same function).
 */
export const toJsonValue: DuckDBValueConverter<unknown> = (value: DuckDBValue, type: DuckDBType, converter: DuckDBValueConverter<unknown>) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampToIso(value);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return exactNumber(value);
    case DuckDBTypeId.DECIMAL:
      return (value as unknown as { toDouble(): number }).toDouble();
    default:
      return JsonDuckDBValueConverter(value, type, converter as DuckDBValueConverter<Json>);
  }
};
