import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_TEXT } from './event.js';
import { LogParser } from './parser.js';
import { fixtureLines, validEvents, validSamples } from './testing.js';
import { LOG_SOURCES, type LogSource } from './types.js';

/** A small seeded generator (mulberry32) so a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const corpus = LOG_SOURCES.flatMap((source) =>
  readdirSync(new URL(`./${source}/testdata/`, import.meta.url))
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => fixtureLines(new URL(`./${source}/x`, import.meta.url).href, f)),
);

const PIECES = ['V3> [', '-0.1] ', 'telem.4 (core:0)>', '\tCnt=', 'Event Counters', '\tX: 9', '[ 1.5] ', '6,1,2,-;', '[0]:', '<8>(t) ',
  '99999999999999999999999', '-1', '0x', '(', ')', ':', '|', '\u0000', '\ud800', '\u{1F600}', '\r', '\t', ' '.repeat(40), 'Error> a.c(1): '];

function mutate(line: string, r: () => number): string {
  let s = line;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.3) s = s.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + s.slice(at);
    else if (op < 0.5) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 8));
    else if (op < 0.7) s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x3000)) + s.slice(at + 1);
    else if (op < 0.85) s = s.replace(/\d+/, () => String(Math.floor(r() * 1e6)) + '9'.repeat(Math.floor(r() * 30)));
    else s = s.slice(0, at);
  }
  return s.replace(/\n/g, ' ');
}

function randomBytesLine(r: () => number): string {
  const bytes = Uint8Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)).filter((b) => b !== 10);
  return new TextDecoder('utf-8').decode(bytes);
}

function check(source: LogSource | 'auto', lines: string[]): void {
  const parser = new LogParser({ source, bootTimeNs: 1_700_000_000_000_000_000n, stamp: () => 1_795_537_485_000_000_000n });
  const out = lines.map((line) => {
    const r = parser.parse(line);
    return { line, ...r };
  });
  expect(out).toHaveLength(lines.length);
  for (const { line, event } of out) {
    if (line.length <= MAX_TEXT) expect(event.raw).toBe(line);
    else expect([event.raw, (event.fields as { truncated?: number }).truncated]).toEqual([line.slice(0, MAX_TEXT), line.length]);
  }
  validEvents(out.map((o) => o.event));
  validSamples(out.flatMap((o) => o.samples));
}

describe('fuzzing the parsers', () => {
  it('mutated fixture lines: one valid event per line with its raw text, for every source mode', () => {
    const r = rng(20261124);
    const lines = Array.from({ length: 3000 }, () => mutate(corpus[Math.floor(r() * corpus.length)]!, r));
    for (const source of ['auto', ...LOG_SOURCES] as const) check(source, lines);
  });

  it('random bytes decoded as (mostly invalid) UTF-8, control characters and lone surrogates', () => {
    const r = rng(7);
    const lines = Array.from({ length: 2000 }, () => randomBytesLine(r));
    lines.push('\ud800\udfff\ud800', '\u0000'.repeat(100), '\u001b[31m\u001b[0m', '');
    for (const source of ['auto', ...LOG_SOURCES] as const) check(source, lines);
  });

  it('over-long lines keep their first 64 Ki characters in raw and say how long they were', () => {
    const long = ['V3> [vm0-0.1] ' + 'x'.repeat(200_000), '[ 1.000000] ' + 'A'.repeat(MAX_TEXT + 1), '<8>(t) ' + '\t'.repeat(70_000)];
    for (const source of ['auto', ...LOG_SOURCES] as const) check(source, long);
  });

  it('a mutated telemetry dump still yields exactly one event per line', () => {
    const r = rng(42);
    const dump = fixtureLines(new URL('./palacios/x', import.meta.url).href, 'hobbes.log');
    for (let round = 0; round < 200; round++) {
      const lines = dump.map((l) => (r() < 0.2 ? mutate(l, r) : l)).filter(() => r() > 0.05);
      check('palacios', lines);
    }
  });
});
