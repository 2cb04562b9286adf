/**
 * The JSON-lines form of a log event printed by `isoscope parse`: the record's columns in a fixed
 * order with `ts` as a decimal string of nanoseconds (beyond JavaScript's exact integers), the same
 * convention the bus codec uses.
 */
import type { ParsedEvent } from './types.js';

/** One event as one line of JSON (no newline). */
export function eventJson(e: ParsedEvent, node: string): string {
  return JSON.stringify({
    ts: e.ts.toString(),
    node,
    source: e.source,
    level: e.level,
    kind: e.kind,
    vm: e.vm ?? null,
    vcore: e.vcore ?? null,
    pcore: e.pcore ?? null,
    message: e.message,
    fields: e.fields ?? {},
    raw: e.raw ?? null,
  });
}
