/** Generated SQL: values are validated before they become literals, and the dialects differ only where they must. */
import { describe, expect, it } from 'vitest';
import { isoToNs } from '../formats/columns.js';
import { parseDuration, parseTime } from '../time.js';
import { duckdb, questdb } from './dialect.js';
import { inList, int, str } from './literals.js';
import { seriesSql } from './series-sql.js';

describe('generated SQL', () => {
  it('refuses values that are not plain names or whole numbers', () => {
    expect(str('run-1.a:b/c@d+e')).toBe("'run-1.a:b/c@d+e'");
    for (const bad of ["x'", "a b", 'a;b', '', 'a"b', "x' OR '1'='1", 'é'.repeat(3), 'a'.repeat(201)]) expect(() => str(bad)).toThrow(/not a plain name/);
    expect(() => int(1.5)).toThrow(/whole number/);
    expect(() => int(Number.NaN)).toThrow(/whole number/);
    expect(() => inList([])).toThrow(/at least one/);
  });

  it('buckets t_rel by integer arithmetic in both dialects, quoting "partition"', () => {
    const q = { metric: 'cpu.user', starts: new Map([['r1', 1000n], ['r2', 5000n]]), stepNs: 10n, by: ['partition' as const], agg: 'rate' as const, cpu: -1 };
    const qs = seriesSql(questdb, q);
    const ds = seriesSql(duckdb, q);
    expect(qs).toContain("CASE WHEN run = 'r1' THEN 1000 WHEN run = 'r2' THEN 5000 END");
    expect(qs).toContain('(t_rel) / (10) AS bucket');
    expect(ds).toContain('(t_rel) // (10) AS bucket');
    expect(qs).toContain('cast(ts AS long) - CASE');
    expect(ds).toContain('epoch_ns(ts) - CASE');
    expect(qs).toContain('sum(value) AS value');
    expect(qs).toContain('GROUP BY run, "partition", bucket');
    expect(qs).toContain('ts >= cast(1000 AS timestamp_ns)');
    expect(ds).toContain('ts >= make_timestamp_ns(1000)');
  });

  it('reads durations and times', () => {
    expect(parseDuration('500ms')).toBe(500_000_000n);
    expect(parseDuration('2h')).toBe(7_200_000_000_000n);
    expect(parseDuration('17')).toBe(17n);
    expect(() => parseDuration('1.5s')).toThrow(/not a duration/);
    expect(parseTime('1764000000123')).toBe(1_764_000_000_123_000_000n);
    expect(parseTime('1764000000123456789')).toBe(1_764_000_000_123_456_789n);
    expect(parseTime('2025-11-24T16:00:00.123456789Z')).toBe(1_764_000_000_123_456_789n);
    expect(isoToNs('2025-11-24 16:00:00.5+00')).toBe(1_764_000_000_500_000_000n);
    expect(() => isoToNs('soon')).toThrow(/cannot read "soon"/);
  });
});
