/**
 * One followed log stream: a reader of lines (file, /dev/kmsg or command) and the parser for them.
 * This is the unit the collector agent drives: `read()` the events and samples that arrived, send
 * them, then `commit()` so a restart resumes after them. Boot-relative lines of the local kernel are
 * mapped through this node's boot time; lines without time are stamped on receipt.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Lifecycle } from '../../schema/lifecycle.js';
import type { LogInputConfig } from './config.js';
import { LogParser } from './parser.js';
import { CommandTailer, reportEvent, type CommandReport } from './tail/command-tailer.js';
import { FileTailer } from './tail/file-tailer.js';
import { KmsgReader } from './tail/kmsg-reader.js';
import { isoToNs, localBootTimeNs } from './time.js';
import type { ParsedEvent, ParsedSample } from './types.js';

/** Something that hands out lines and can remember how far it got. */
export interface LineReader extends Lifecycle {
  read(): Promise<string[]>;
  commit?(): Promise<void>;
}

/** Events and samples of the lines read since the last call. */
export interface LogBatch {
  events: ParsedEvent[];
  samples: ParsedSample[];
}

export class LogStream implements Lifecycle {
  private readonly reports: ParsedEvent[] = [];

  /**
   * @param name short name for logs and checkpoints, e.g. `file:/var/log/kitten0.log`
   */
  constructor(
    readonly name: string,
    private readonly reader: LineReader,
    private readonly parser: LogParser,
  ) {}

  /** Builds the stream for one configured input; checkpoints go under `stateDir`. */
  static fromConfig(input: LogInputConfig, stateDir: string): LogStream {
    const name = input.type === 'file' ? `file:${input.path}` : input.type === 'kmsg' ? `kmsg:${input.path}` : `command:${[input.command, ...input.args].join(' ')}`;
    const checkpointPath = join(stateDir, `${input.type}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}.json`);
    if (input.type === 'file') {
      const bootTimeNs = input.bootTime ? isoToNs(input.bootTime) : localBootTimeNs();
      return new LogStream(name, new FileTailer({ path: input.path, checkpointPath, startAt: input.startAt }), new LogParser({ source: input.source, bootTimeNs }));
    }
    if (input.type === 'kmsg') {
      return new LogStream(name, new KmsgReader({ path: input.path, checkpointPath, startAt: input.startAt }), new LogParser({ source: 'linux', bootTimeNs: localBootTimeNs() }));
    }
    let stream: LogStream | null = null;
    const onReport = (r: CommandReport) => stream?.reports.push(reportEvent(r));
    const tailer = new CommandTailer({ command: input.command, args: input.args, onReport });
    stream = new LogStream(name, tailer, new LogParser({ source: input.source, bootTimeNs: localBootTimeNs() }));
    return stream;
  }

  async start(): Promise<void> {
    await this.reader.start();
  }

  /** Parses the lines that arrived; reports of a command that could not run come first, as events. */
  async read(): Promise<LogBatch> {
    const { events, samples } = this.parser.parseAll(await this.reader.read());
    if (this.reports.length) events.unshift(...this.reports.splice(0));
    return { events, samples };
  }

  /** Remembers that everything returned by `read()` so far was handled. */
  async commit(): Promise<void> {
    await this.reader.commit?.();
  }

  /** Lines parsed and lines no rule understood. */
  get stats(): { lines: number; unparsed: number } {
    return this.parser.stats;
  }

  async shutdown(deadlineMs?: number): Promise<void> {
    await this.reader.shutdown(deadlineMs);
  }
}
