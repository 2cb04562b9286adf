/**
 * Turns what a parser recognised in a line into an `events` record that always validates: time
 * chosen (boot-relative time mapped through the boot time, else the caller's stamp), names and
 * numbers kept within their column types, over-long text cut to the column limit with the original
 * length noted, and the raw line kept. A line nobody recognised becomes `unparsed`.
 */
import { nowNs } from '../../core/clock.js';
import type { Fields } from './fields.js';
import { UNKNOWN_SOURCE, type ParsedEvent, type Recognized } from './types.js';

/** Longest `raw`/`message` the `events` columns hold. */
export const MAX_TEXT = 65_536;
// The `ts` column ends at int64 nanoseconds (2262-04-11), where QuestDB and DuckDB timestamps end.
const MAX_TS = 2n ** 63n - 1n;
const INT32 = 2_147_483_647;

/** How lines without their own timestamp are stamped, and how boot-relative ones are mapped. */
export interface ParseOptions {
  /** Stamp for lines that carry no time. @default nowNs() at the call */
  ts?: bigint;
  /** Wall time of the boot of the kernel that printed boot-relative lines, ns since the epoch. */
  bootTimeNs?: bigint;
}

/**
 * The event for one line.
 * @param r what a parser recognised, or null for a line nobody understood
 * @param raw the line as received
 * @param ts stamp used unless the line carries boot-relative time and `bootTimeNs` is known
 * @param fallbackSource `source` of an unrecognised line
 */
export function toEvent(r: Recognized | null, raw: string, ts: bigint, bootTimeNs?: bigint, fallbackSource: string = UNKNOWN_SOURCE): ParsedEvent {
  const fields: Record<string, string | number> = {};
  if (raw.length > MAX_TEXT) fields.truncated = raw.length;
  if (!r) {
    return { ts, source: fallbackSource, level: 'info', kind: 'unparsed', message: cut(raw), fields, raw: cut(raw) };
  }
  copyFields(r.fields, fields);
  let when = ts;
  if (r.sinceBootNs !== undefined && bootTimeNs !== undefined) {
    const t = bootTimeNs + r.sinceBootNs;
    if (t >= 0n && t <= MAX_TS) when = t;
  }
  return {
    ts: when,
    source: r.source,
    level: r.level,
    kind: r.kind,
    vm: r.vm ? r.vm.slice(0, 256) : null,
    vcore: int32(r.vcore),
    pcore: int32(r.pcore),
    message: cut(r.message),
    fields,
    raw: cut(raw),
  };
}

function copyFields(from: Fields, to: Record<string, string | number>): void {
  for (const k in from) {
    const v = from[k as keyof Fields];
    if (typeof v === 'string') to[k] = cut(v);
    else if (typeof v === 'number' && Number.isFinite(v)) to[k] = v;
  }
}

function int32(n: number | undefined): number | null {
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= INT32 ? n : null;
}

function cut(s: string): string {
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
}

/** Splits text into lines: `\n` ends a line, a trailing `\r` is dropped, a final empty line is not one. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** Runs `recognize` over each line of `text` and builds one event per line. */
export function eachLine(
  text: string | readonly string[],
  options: ParseOptions,
  recognize: (line: string) => Recognized | null,
  fallbackSource: string,
): ParsedEvent[] {
  const lines = typeof text === 'string' ? splitLines(text) : text;
  const ts = options.ts ?? nowNs();
  return lines.map((line) => toEvent(recognize(line), line, ts, options.bootTimeNs, fallbackSource));
}
