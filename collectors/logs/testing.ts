/**
 * Helpers for the log parsers' tests: read a testdata fixture the way a tailer would (bytes decoded
 * as UTF-8 with replacement, split into lines) and check events against the schema and the
 * vocabularies, so every test proves its output would be accepted by the bus and the store.
 */
import { readFileSync } from 'node:fs';
import { validate } from '../../schema/codec.js';
import type { RecordOf } from '../../schema/records.js';
import { splitLines } from './event.js';
import { FIELD_NAMES } from './fields.js';
import { isKind } from './kinds.js';
import type { ParsedEvent, ParsedSample } from './types.js';

const FIELDS: ReadonlySet<string> = new Set(FIELD_NAMES);

/** Lines of a fixture next to `base` (pass `import.meta.url`), decoded as a tailer decodes them. */
export function fixtureLines(base: string, name: string): string[] {
  return splitLines(new TextDecoder('utf-8').decode(readFileSync(new URL(`./testdata/${name}`, base))));
}

/**
 * Stamps a batch identity on parsed events and validates them with the `events` schema; also
 * checks that every kind and field name belongs to the vocabularies. Throws with the reason.
 */
export function validEvents(events: readonly ParsedEvent[]): RecordOf<'events'>[] {
  for (const e of events) {
    if (!isKind(e.kind)) throw new Error(`kind "${e.kind}" is not in kinds.ts (line: ${JSON.stringify(e.raw)})`);
    for (const k of Object.keys(e.fields ?? {})) {
      if (!FIELDS.has(k)) throw new Error(`field "${k}" is not in fields.ts (line: ${JSON.stringify(e.raw)})`);
    }
  }
  return validate('events', events.map((e, idx) => ({ ...e, node: 'test-node', collector: 'test-node/logs', seq: 1, idx })));
}

/** Same for samples. */
export function validSamples(samples: readonly ParsedSample[]): RecordOf<'samples'>[] {
  return validate('samples', samples.map((s, idx) => ({ ...s, node: 'test-node', collector: 'test-node/logs', seq: 1, idx })));
}

/** The event whose raw line contains `needle` (fails the test when there is none). */
export function byRaw(events: readonly ParsedEvent[], needle: string): ParsedEvent {
  const e = events.find((x) => x.raw?.includes(needle));
  if (!e) throw new Error(`no event with raw containing ${JSON.stringify(needle)}`);
  return e;
}
