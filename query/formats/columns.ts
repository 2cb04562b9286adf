/**
 * Column classes of a query result, from the store's type names (QuestDB's PG names or DuckDB's),
 * shared by the Arrow and Parquet writers: one mapping, so both formats agree on every column.
 */
export type ColumnClass = 'bool' | 'int64' | 'int32' | 'float64' | 'timestamp' | 'text';

/** @example classify('TIMESTAMP_NS') // 'timestamp'; classify('bigint') // 'int64' */
export function classify(type: string): ColumnClass {
  const t = type.toLowerCase();
  if (t.startsWith('bool')) return 'bool';
  if (/^(bigint|hugeint|ubigint|uhugeint|long|int8|int64)$/.test(t)) return 'int64';
  if (/^(integer|int|int4|smallint|tinyint|int2|usmallint|utinyint|uinteger|short|byte)$/.test(t)) return 'int32';
  if (/double|real|float|decimal|numeric/.test(t)) return 'float64';
  if (t.startsWith('timestamp')) return 'timestamp';
  return 'text';
}

/** `2026-11-24T16:13:00.123456789Z` (any 0–9 fraction digits) → integer nanoseconds since the epoch. */
export function isoToNs(iso: string): bigint {
  const m = /^(.*?:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(iso.trim().replace(' ', 'T'));
  const tz = m?.[3] ?? 'Z'; // Z, +00, +0530 or +05:30
  const zone = tz === 'Z' || tz.includes(':') ? tz : tz.length === 3 ? `${tz}:00` : `${tz.slice(0, 3)}:${tz.slice(3)}`;
  const ms = m ? Date.parse(`${m[1]}${zone}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`cannot read "${iso}" as a timestamp: expected ISO-8601 such as 2026-11-24T16:13:00.123456789Z`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

/** A cell as the class wants it (null stays null); text cells of objects become JSON. */
export function cell(value: unknown, cls: ColumnClass): unknown {
  if (value === null || value === undefined) return null;
  switch (cls) {
    case 'bool': return Boolean(value);
    case 'int64': return BigInt(value as number | string);
    case 'int32': return Number(value);
    case 'float64': return Number(value);
    case 'timestamp': return typeof value === 'bigint' ? value : isoToNs(String(value));
    default: return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}
