/**
 * Result values from QuestDB's PG wire made JSON-friendly and exact: timestamps stay strings
 * (ISO-8601 with all nine fraction digits; JS Dates would cut them to milliseconds) and 64-bit
 * integers become numbers only while that is exact.
 */
import pg from 'pg';

const TIMESTAMP_OIDS = [1114, 1184];
const INT8_OID = 20;

export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (TIMESTAMP_OIDS.includes(oid)) return (v: string) => toIso(v);
    if (oid === INT8_OID) return (v: string) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** `2026-11-24 16:13:00.123456789` or `…+00` → `2026-11-24T16:13:00.123456789Z`. */
export function toIso(v: string): string {
  return v.replace(' ', 'T').replace(/(\+00(:00)?|Z)?$/, 'Z');
}
