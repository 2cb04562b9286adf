import { describe, expect, it } from 'vitest';
import { LogParser } from './parser.js';
import { fixtureLines, validEvents, validSamples } from './testing.js';
import { LOG_SOURCES, UNKNOWN_SOURCE, type LogSource } from './types.js';

const FULL: Record<LogSource, string[]> = {
  kitten: ['full.log'],
  palacios: ['hobbes.log', 'upstream.log'],
  pisces: ['full.log'],
  hobbes: ['full.log'],
  linux: ['dmesg-full.log', 'kmsg-full.log'],
};
const lines = (source: LogSource, name: string) => fixtureLines(new URL(`./${source}/x`, import.meta.url).href, name);

describe('--source auto', () => {
  it('recognises every line that the explicit parser understands as the same source, kind and fields', () => {
    for (const source of LOG_SOURCES) {
      for (const name of FULL[source]) {
        const explicit = new LogParser({ source, stamp: () => 1n }).parseAll(lines(source, name)).events;
        const auto = new LogParser({ source: 'auto', stamp: () => 1n }).parseAll(lines(source, name)).events;
        explicit.forEach((e, i) => {
          if (e.kind === 'unparsed') return;
          expect({ line: e.raw, source: auto[i]!.source, kind: auto[i]!.kind, fields: auto[i]!.fields }).toEqual({ line: e.raw, source: e.source, kind: e.kind, fields: e.fields });
        });
      }
    }
  });

  it('reads an interleaved capture line by line, keeping telemetry context per stream', () => {
    const mixed = [
      '[  812.004117] Enclave created at /dev/pisces-enclave0',
      '[0]:Setting up pisces instance on CPU 12 (APIC ID 24)',
      'V3> [vm0-0.1] telem.4 (core:0)>telemetry tsc=912345678901 (window size: 2310456789)',
      '| 1        | kitten-0                         | PISCES_ENCLAVE   | Running     |',
      'V3> [vm0-0.1] Event Counters',
      'Adding CPU 13 (APIC 26)',
      'V3> [vm0-0.1] \tCORE_SCHED_IN: 1042',
      '6,412,812004117,-;Freeing Enclave',
      'something nobody prints',
    ];
    const { events, samples } = new LogParser({ source: 'auto', bootTimeNs: 0n, stamp: () => 5n }).parseAll(mixed);
    validEvents(events);
    validSamples(samples);
    expect(events.map((e) => [e.source, e.kind])).toEqual([
      ['pisces', 'enclave_create'],
      ['kitten', 'enclave_boot'],
      ['palacios', 'telemetry_window'],
      ['hobbes', 'enclave_state'],
      ['palacios', 'section'],
      ['pisces', 'core_add'],
      ['palacios', 'event_counter'],
      ['pisces', 'enclave_free'],
      [UNKNOWN_SOURCE, 'unparsed'],
    ]);
    expect(events[0]!.ts).toBe(812_004_117_000n);
    expect(events[1]!.ts).toBe(5n);
    expect(samples.map((s) => s.metric)).toEqual(['palacios.window_cycles', 'palacios.event_count']);
  });

  it('counts lines and unparsed lines', () => {
    const p = new LogParser();
    p.parse('V3> (0) Adding CPU 1');
    p.parse('gibberish');
    expect(p.stats).toEqual({ lines: 2, unparsed: 1 });
  });
});
