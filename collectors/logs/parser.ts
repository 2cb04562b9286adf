/**
 * The streaming log parser a tailer feeds: one per stream (file, /dev/kmsg, command), because
 * Palacios telemetry context is per stream. Every line gives exactly one event (`unparsed` if no
 * rule knows it) and, for Palacios telemetry lines, the samples they stand for.
 */
import { nowNs } from '../../core/clock.js';
import { recognizerFor } from './auto.js';
import { toEvent } from './event.js';
import { TelemetryState, telemetrySamples } from './telemetry.js';
import { UNKNOWN_SOURCE, type LogSource, type ParsedEvent, type ParsedSample, type Recognized } from './types.js';

export interface LogParserOptions {
  /** Which parser reads the lines; `auto` recognises the source per line. @default 'auto' */
  source?: LogSource | 'auto';
  /** Boot time of the kernel whose boot-relative lines (dmesg, kmsg) this stream carries, ns since the epoch. */
  bootTimeNs?: bigint;
  /** Stamp for lines without their own time (Kitten, Palacios-in-Kitten, tools). @default nowNs */
  stamp?: () => bigint;
}

/** One line's result. */
export interface ParsedLine {
  event: ParsedEvent;
  /** Samples of a Palacios telemetry line; empty for all other lines. */
  samples: ParsedSample[];
}

/**
 * Parses the lines of one stream in order.
 * @example
 *   const p = new LogParser({ source: 'linux', bootTimeNs: localBootTimeNs() });
 *   const { event } = p.parse('[  812.004117] Enclave created at /dev/pisces-enclave0');
 */
export class LogParser {
  private readonly recognize: (line: string) => Recognized | null;
  private readonly fallback: string;
  private readonly stamp: () => bigint;
  private readonly bootTimeNs: bigint | undefined;
  /** Lines parsed, and how many of them no rule understood. */
  readonly stats = { lines: 0, unparsed: 0 };

  constructor(options: LogParserOptions = {}) {
    const source = options.source ?? 'auto';
    this.recognize = recognizerFor(source, new TelemetryState());
    this.fallback = source === 'auto' ? UNKNOWN_SOURCE : source;
    this.stamp = options.stamp ?? nowNs;
    this.bootTimeNs = options.bootTimeNs;
  }

  /** Parses one line (without its newline). Never throws on the content of the line. */
  parse(line: string): ParsedLine {
    const event = toEvent(this.recognize(line), line, this.stamp(), this.bootTimeNs, this.fallback);
    this.stats.lines++;
    if (event.kind === 'unparsed') this.stats.unparsed++;
    return { event, samples: telemetrySamples(event) };
  }

  /** Parses lines in order; events and samples collected separately. */
  parseAll(lines: Iterable<string>): { events: ParsedEvent[]; samples: ParsedSample[] } {
    const events: ParsedEvent[] = [];
    const samples: ParsedSample[] = [];
    for (const line of lines) {
      const r = this.parse(line);
      events.push(r.event);
      for (const s of r.samples) samples.push(s);
    }
    return { events, samples };
  }
}
