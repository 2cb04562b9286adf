/**
 * The few places where the two stores' SQL differs, for the generated queries of the API. Both
 * read `ts` as integer nanoseconds (exact; QuestDB's PG wire would print only microseconds) and
 * bucket by integer arithmetic on it, so both stores put a sample in the same bucket.
 */
import { int } from './literals.js';

export interface Dialect {
  readonly kind: 'questdb' | 'duckdb';
  /** Integer nanoseconds since the epoch of a TIMESTAMP_NS column. */
  ns(column: string): string;
  /** Integer division, truncating (operands are never negative in our queries). */
  div(a: string, b: string): string;
  /** A TIMESTAMP_NS value from integer nanoseconds, for filters on the designated timestamp. */
  ts(ns: bigint): string;
}

export const questdb: Dialect = {
  kind: 'questdb',
  ns: (c) => `cast(${c} AS long)`,
  div: (a, b) => `(${a}) / (${b})`,
  ts: (ns) => `cast(${int(ns)} AS timestamp_ns)`,
};

export const duckdb: Dialect = {
  kind: 'duckdb',
  ns: (c) => `epoch_ns(${c})`,
  div: (a, b) => `(${a}) // (${b})`,
  ts: (ns) => `make_timestamp_ns(${int(ns)})`,
};

export function dialectOf(kind: 'questdb' | 'duckdb'): Dialect {
  return kind === 'questdb' ? questdb : duckdb;
}

/** A store value that holds integer nanoseconds (number, decimal string or bigint) → bigint. */
export function toNs(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`expected integer nanoseconds from the store, got ${JSON.stringify(value)}`);
}
