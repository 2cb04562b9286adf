/**
 * Bus message encoding: one message carries a batch of records of one type, as JSON. Version 2
 * (written) is column by column (schema/columnar.ts); version 1 (still read, and written for
 * records with fields the schema does not know, so validation names them) is record by record:
 *   {"v":1,"type":"samples","records":[{…},{…}]}
 * `v` is the schema version; a decoder refuses versions it does not know. Timestamps (int64
 * nanoseconds, beyond JS's exact integers) travel as decimal strings. JSON was chosen over a binary
 * form by measurement (bench/codec.bench.ts; figures in docs/SCHEMA.md).
 */
import type { Segment } from './column-batch.js';
import type { RecordInput, RecordName, RecordOf } from './records.js';
import { columnarBody, decodeColumnar } from './columnar.js';
import { fastCheck } from './fast-validate.js';
import { RECORDS, isRecordName } from './records.js';

/** The version this isoscope writes. */
export const SCHEMA_VERSION = 2;
/** The versions it reads. */
export const READABLE_VERSIONS = [1, 2] as const;

/** A record that failed validation, with where and why. */
export interface RecordError {
  /** Index of the record in the message, or -1 when the whole message is bad. */
  index: number;
  reason: string;
}

export interface Decoded<N extends RecordName> {
  type: N;
  version: number;
  records: RecordOf<N>[];
  /** Records (or the whole message) that were refused; the others are in `records`. */
  errors: RecordError[];
}

const timestampColumns = Object.fromEntries(
  Object.entries(RECORDS).map(([name, def]) => [
    name,
    Object.entries(def.columns).filter(([, c]) => c.kind === 'timestamp').map(([col]) => col),
  ]),
) as Record<RecordName, string[]>;

/** Encodes records of one type into one message body. Records are not validated here. */
export function encode<N extends RecordName>(type: N, records: readonly (RecordInput<N> | RecordOf<N>)[]): Buffer {
  const columnar = columnarBody(type, records as readonly Record<string, unknown>[]);
  if (columnar) {
    try {
      return Buffer.from(JSON.stringify(columnar), 'utf8'); // timestamps are text already: no replacer
    } catch {
      // a bigint inside a json column: the replacer below handles it
    }
  }
  const body = JSON.stringify(columnar ?? { v: 1, type, records }, bigintAsText);
  return Buffer.from(body, 'utf8');
}

/** Encodes as version 1, record by record (what older isoscope versions wrote). */
export function encodeV1<N extends RecordName>(type: N, records: readonly (RecordInput<N> | RecordOf<N>)[]): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, type, records }, bigintAsText), 'utf8');
}

const bigintAsText = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/**
 * Decodes and validates one message body. Never throws: a message that cannot be read at all comes
 * back with no records and one error at index -1; single bad records are listed by index.
 * @param expected the record type the topic carries; a message of another type is refused.
 */
export function decode<N extends RecordName>(body: Buffer | string, expected: N): Decoded<N> {
  const d = decodeColumns(body, expected);
  return d.segment ? { type: d.type, version: d.version, records: d.segment.records(), errors: [] } : d;
}

/** What `decodeColumns` returns: a valid version-2 message as its columns, anything else as `decode` would. */
export type DecodedColumns<N extends RecordName> = Decoded<N> & { segment: (Segment & { records: () => RecordOf<N>[] }) | null };

/**
 * Decodes and validates one message body like `decode`, but a valid version-2 message comes back as
 * its columns (`segment`; `records` is then empty), with no record object built: ingest's hot path.
 * Version 1 and a message with a bad record come back as records and errors, exactly as `decode`.
 */
export function decodeColumns<N extends RecordName>(body: Buffer | string, expected: N): DecodedColumns<N> {
  const fail = (reason: string): DecodedColumns<N> => ({ type: expected, version: -1, records: [], errors: [{ index: -1, reason }], segment: null });
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return fail(`message is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('message must be a JSON object {"v":1,"type":…,"records":[…]}');
  }
  const { v, type, records } = parsed as Record<string, unknown>;
  if (v !== 1 && v !== 2) return fail(`unsupported schema version ${JSON.stringify(v)}: this isoscope reads versions ${READABLE_VERSIONS.join(' and ')}`);
  if (typeof type !== 'string' || !isRecordName(type)) return fail(`unknown record type ${JSON.stringify(type)}`);
  if (type !== expected) return fail(`record type "${type}" does not belong on the ${expected} topic`);
  if (v === 2) {
    const result = decodeColumnar(parsed as Record<string, unknown>, expected);
    if (result.ok) return { type: expected, version: 2, records: [], errors: [], segment: { ...result.segment, records: result.records as () => RecordOf<N>[] } };
    if ('fatal' in result) return fail(result.fatal);
    return { ...checkRecords(result.raw, expected), version: 2, segment: null };
  }
  if (!Array.isArray(records)) return fail('"records" must be an array');
  return { ...checkRecords(records, expected), segment: null };
}

/** The per-record path: each record's timestamps converted, checked, and zod for the doubtful ones. */
function checkRecords<N extends RecordName>(records: unknown[], expected: N): Decoded<N> {
  const schema = RECORDS[expected].schema;
  const tsCols = timestampColumns[expected];
  const fast = fastCheck(expected);
  const out: RecordOf<N>[] = [];
  const errors: RecordError[] = [];
  records.forEach((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      errors.push({ index, reason: `records[${index}]: expected an object` });
      return;
    }
    const rec = raw as Record<string, unknown>;
    for (const col of tsCols) {
      const t = rec[col];
      if (typeof t === 'string' && /^-?\d{1,21}$/.test(t)) rec[col] = BigInt(t);
      else if (typeof t === 'number' && Number.isSafeInteger(t)) rec[col] = BigInt(t);
      else if (t !== undefined && t !== null) {
        errors.push({ index, reason: `records[${index}].${col}: expected integer nanoseconds since the epoch as a decimal string, got ${JSON.stringify(t)}` });
        return;
      }
    }
    // The hand-checked hot path; zod only for records it is not sure of (and for their messages).
    if (fast(rec)) {
      out.push(rec as RecordOf<N>);
      return;
    }
    const result = schema.safeParse(rec);
    if (result.success) out.push(result.data as RecordOf<N>);
    else errors.push({ index, reason: describeIssues(`records[${index}]`, result.error.issues) });
  });
  return { type: expected, version: 1, records: out, errors };
}

/** Validates in-memory records (producers call this before sending). Throws with every reason. */
export function validate<N extends RecordName>(type: N, records: readonly RecordInput<N>[]): RecordOf<N>[] {
  const schema = RECORDS[type].schema;
  return records.map((r, i) => {
    const result = schema.safeParse(r);
    if (!result.success) throw new Error(`invalid ${type} record: ${describeIssues(`records[${i}]`, result.error.issues)}`);
    return result.data as RecordOf<N>;
  });
}

/** Formats zod issues as `where: what was wrong` lines, e.g. `records[2].value: expected number, received string`. */
export function describeIssues(prefix: string, issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${prefix}${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`)
    .join('; ');
}
