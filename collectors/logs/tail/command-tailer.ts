/**
 * Follows the output of a command that streams a console, e.g. `hobbes console kitten-0` or
 * `pisces_cons /dev/pisces-enclave0`. Such readers die when the enclave goes away, and Hobbes allows
 * only one reader per console, so a second one fails at once. The command is restarted with
 * jittered exponential backoff whenever it exits; a run that ends with an error before printing a
 * line is reported as "cannot connect" (with its stderr), so a console held by someone else is a
 * visible, counted condition instead of silence. Lines are buffered (bounded) until `read()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { sleep } from '../../../core/backoff.js';
import { nowNs } from '../../../core/clock.js';
import { componentLogger } from '../../../core/logger.js';
import type { Lifecycle } from '../../../schema/lifecycle.js';
import type { ParsedEvent } from '../types.js';
import { LineSplitter } from './line-splitter.js';

export interface CommandTailerOptions {
  command: string;
  args?: string[];
  /** First restart delay, ms. @default 500 */
  initialDelayMs?: number;
  /** Longest restart delay, ms. @default 30000 */
  maxDelayMs?: number;
  /** Lines held until `read()`; beyond it the oldest are dropped and counted. @default 100000 */
  maxBufferedLines?: number;
  /** Longest line kept whole. @default 65536 */
  maxLineBytes?: number;
  /** Called when the command exits or cannot be started. */
  onReport?: (report: CommandReport) => void;
}

/** What happened to one run of the command. */
export interface CommandReport {
  command: string;
  /** `cannot_connect`: failed before printing a line; `exited`: ended after printing; `spawn_failed`: could not be run. */
  outcome: 'cannot_connect' | 'exited' | 'spawn_failed';
  code: number | null;
  signal: string | null;
  /** Last lines the command wrote to stderr (or the spawn error). */
  stderr: string;
  /** Consecutive failed runs so far. */
  attempt: number;
  /** When the next run starts. */
  retryInMs: number;
}

/** Follows a command's stdout; see the module comment. */
export class CommandTailer implements Lifecycle {
  private child: ChildProcess | null = null;
  private lines: string[] = [];
  private running: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly log = componentLogger('command-tailer');
  private readonly label: string;
  /** Runs started, lines dropped because nobody read them, reports made. */
  readonly stats = { runs: 0, dropped: 0, reports: 0 };

  constructor(private readonly o: CommandTailerOptions) {
    this.label = [o.command, ...(o.args ?? [])].join(' ');
  }

  async start(): Promise<void> {
    this.running ??= this.loop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const run = await this.runOnce();
      if (this.abort.signal.aborted) return;
      failures = run.outcome === 'exited' ? 0 : failures + 1;
      const cap = Math.min(this.o.maxDelayMs ?? 30_000, (this.o.initialDelayMs ?? 500) * 2 ** Math.min(failures, 20));
      const retryInMs = Math.round(cap / 2 + (Math.random() * cap) / 2);
      const report: CommandReport = { command: this.label, ...run, attempt: failures, retryInMs };
      this.stats.reports++;
      const what = run.outcome === 'exited' ? 'exited' : run.outcome === 'spawn_failed' ? 'could not be started' : 'could not connect';
      this.log.warn({ ...report }, `Command \`${this.label}\` ${what} (code ${run.code ?? '-'}, signal ${run.signal ?? '-'}); restarting in ${retryInMs} ms.`);
      this.o.onReport?.(report);
      await sleep(retryInMs, this.abort.signal);
    }
  }

  private runOnce(): Promise<Pick<CommandReport, 'outcome' | 'code' | 'signal' | 'stderr'>> {
    return new Promise((resolve) => {
      this.stats.runs++;
      const splitter = new LineSplitter(this.o.maxLineBytes);
      let printed = false;
      let stderr = '';
      // Its own process group, so shutdown also stops what the command started (a shell's children).
      const child = spawn(this.o.command, this.o.args ?? [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.child = child;
      child.stdout!.on('data', (chunk: Buffer) => {
        const got = splitter.push(chunk);
        if (got.length) printed = true;
        this.keep(got);
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-2000);
      });
      child.on('error', (err) => {
        this.child = null;
        resolve({ outcome: 'spawn_failed', code: null, signal: null, stderr: err.message });
      });
      child.on('close', (code, signal) => {
        this.child = null;
        const rest = splitter.flush();
        if (rest !== null) {
          printed = true;
          this.keep([rest]);
        }
        const failed = !printed && (code !== 0 || signal !== null);
        resolve({ outcome: failed ? 'cannot_connect' : 'exited', code, signal, stderr: stderr.trim().split('\n').slice(-5).join('\n') });
      });
    });
  }

  private keep(lines: string[]): void {
    for (const l of lines) this.lines.push(l);
    const max = this.o.maxBufferedLines ?? 100_000;
    if (this.lines.length > max) {
      this.stats.dropped += this.lines.length - max;
      this.lines.splice(0, this.lines.length - max);
    }
  }

  /** Lines printed since the last call. */
  async read(): Promise<string[]> {
    const out = this.lines;
    this.lines = [];
    return out;
  }

  /** Stops the command (SIGTERM, SIGKILL after the deadline) and the restarts. Safe twice or without start. */
  async shutdown(deadlineMs = 5_000): Promise<void> {
    this.abort.abort();
    const child = this.child;
    if (child && child.exitCode === null && child.pid !== undefined) {
      const pid = child.pid;
      signalGroup(pid, 'SIGTERM');
      const t = setTimeout(() => signalGroup(pid, 'SIGKILL'), deadlineMs);
      t.unref();
      await this.running;
      clearTimeout(t);
    }
    await this.running;
    this.running = null;
  }
}

/** Signals the process group led by `pid` (a command started here with `detached`); gone groups are ignored. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** A report as an event of the collector itself, so a console nobody could read shows in `events`. */
export function reportEvent(r: CommandReport, ts: bigint = nowNs()): ParsedEvent {
  const what = r.outcome === 'exited' ? 'exited' : r.outcome === 'spawn_failed' ? 'could not be started' : 'could not connect';
  return {
    ts,
    source: 'collector',
    level: r.outcome === 'exited' ? 'warning' : 'error',
    kind: r.outcome === 'exited' ? 'warning' : 'error',
    message: `Command \`${r.command}\` ${what}; restarting in ${r.retryInMs} ms.${r.stderr ? ` stderr: ${r.stderr}` : ''}`.slice(0, 65_536),
    fields: { task: r.command.slice(0, 256), count: r.attempt, ...(r.code !== null ? { value: r.code } : {}) },
    raw: null,
  };
}
