/**
 * Time in the API: absolute times in and out as ISO-8601 with nanoseconds (or epoch milliseconds,
 * as Grafana sends them), durations as `500ms`, `10s`, `5m`, `1h` or nanoseconds.
 */
import { z } from 'zod';
import { isoNanos } from '../store/duckdb/values.js';
import { isoToNs } from './formats/columns.js';

export const isoNs = isoNanos;

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** `250ms` → 250000000n; a bare integer is nanoseconds. */
export function parseDuration(text: string): bigint {
  const m = /^(\d{1,15})(ns|us|ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration: expected a whole number with a unit (ns, us, ms, s, m, h), e.g. 500ms or 10s`);
  return BigInt(m[1]!) * UNIT_NS[m[2] ?? 'ns']!;
}

/** ISO-8601, or epoch milliseconds (13 digits or fewer, as Grafana's ${__from}), → ns. */
export function parseTime(text: string): bigint {
  if (/^\d{1,13}$/.test(text)) return BigInt(text) * 1_000_000n;
  if (/^\d{19}$/.test(text)) return BigInt(text);
  return isoToNs(text);
}

export const durationParam = z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export const timeParam = z.string().transform((s, ctx) => {
  try {
    return parseTime(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${(err as Error).message} (or epoch milliseconds)` });
    return z.NEVER;
  }
});
