/**
 * The column vocabulary every record type is written in. A column declares its meaning once and
 * from that declaration come: the zod validator (schema/records.ts), the QuestDB and DuckDB column
 * types (schema/ddl/), the ILP writer calls (store/questdb/) and the docs' field tables. A column's
 * kind never changes once released: QuestDB fixes a column's type when the table is created.
 */
import { z } from 'zod';

/** How a column is stored. */
export type ColumnKind =
  | 'timestamp' // integer nanoseconds since the Unix epoch (bigint in memory)
  | 'symbol' // short, repeated string (node, metric, run …): QuestDB SYMBOL
  | 'string' // free text
  | 'long' // 64-bit integer held as a JS number (|x| < 2^53)
  | 'int' // 32-bit integer
  | 'double'
  | 'boolean'
  | 'json'; // a JSON object, stored as text

export interface ColumnSpec<K extends ColumnKind = ColumnKind, Z extends z.ZodType = z.ZodType> {
  kind: K;
  /** One sentence for the docs. */
  doc: string;
  /** Validator of the in-memory value (after decoding). */
  zod: Z;
  /** True when the column may be absent/null in a record. */
  nullable: boolean;
  /** What the hot-path check (schema/fast-validate.ts) needs to know beyond the kind. */
  check?: {
    /** Longest string accepted (UTF-16 units). */
    maxLength?: number;
    /** The closed set of values of a `oneOf` column. */
    values?: readonly string[];
    /** The value filled in when the column is absent (withDefault). */
    default?: { value: unknown };
  };
}

// The end of int64 nanoseconds (2262-04-11), where TIMESTAMP_NS ends in QuestDB and DuckDB.
const MAX_TS = 2n ** 63n - 1n;

/** Integer nanoseconds since the Unix epoch, UTC. */
export const timestamp = (doc: string) =>
  col('timestamp', doc, z.bigint().min(0n, 'expected nanoseconds since the epoch, got a negative value').max(MAX_TS, 'expected nanoseconds since the epoch, got a value after 2262-04-11 (the end of int64 nanoseconds; was it in another unit?)'));

export const symbol = (doc: string) => ({ ...col('symbol', doc, z.string().min(1).max(256)), check: { maxLength: 256 } });
export const string = (doc: string, max = 65536) => ({ ...col('string', doc, z.string().max(max)), check: { maxLength: max } });
export const long = (doc: string) => col('long', doc, z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER));
export const int = (doc: string) => col('int', doc, z.number().int().min(-2147483648).max(2147483647));
export const double = (doc: string) => col('double', doc, z.number());
export const boolean = (doc: string) => col('boolean', doc, z.boolean());
export const json = (doc: string) => col('json', doc, z.record(z.string(), z.unknown()));

/** Same column, allowed to be null or absent (stored as NULL). */
export function nullable<K extends ColumnKind, Z extends z.ZodType>(c: ColumnSpec<K, Z>): ColumnSpec<K, z.ZodOptional<z.ZodNullable<Z>>> {
  return { ...c, zod: c.zod.nullable().optional(), nullable: true };
}

/** Same column, filled in with `value` when a producer leaves it out. */
export function withDefault<K extends ColumnKind, Z extends z.ZodType>(c: ColumnSpec<K, Z>, value: z.output<Z>): ColumnSpec<K, z.ZodDefault<Z>> {
  return { ...c, doc: `${c.doc} Default: ${JSON.stringify(value)}.`, zod: c.zod.default(value as never), check: { ...c.check, default: { value } } };
}

/** Same column restricted to a closed set of values. */
export function oneOf<const V extends readonly [string, ...string[]]>(kind: 'symbol', doc: string, values: V) {
  return { ...col(kind, `${doc} One of: ${values.join(', ')}.`, z.enum(values)), check: { values } };
}

function col<K extends ColumnKind, Z extends z.ZodType>(kind: K, doc: string, zod: Z): ColumnSpec<K, Z> {
  return { kind, doc, zod, nullable: false };
}
