/**
 * Running a partition driver's node tools step by step: each step runs one tool over the node's
 * transport, its output is checked by a parser, and a completed step pushes its undo onto a stack.
 * When a later step fails (or the create is cancelled) the stack unwinds in reverse order, so a
 * failure in step k undoes steps k-1..1; the error names node, step, tool and what the tool printed.
 * Used by the `pisces-kitten` and `palacios-vm` drivers, whose tools (Pisces, Palacios) report
 * failure in their output, often with exit code 0, so the exit code alone never confirms a step.
 */
import { basename } from 'node:path';
import type { NodeTransport } from '../transport/transport.js';
import type { DriverContext } from './driver.js';

/** A parser's verdict on a tool's output: confirmed (with the values it read) or not, and why. */
export type Parsed<T> = ({ ok: true } & T) | { ok: false; reason: string };

/** What one tool run printed. */
export interface ToolOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ToolRunOptions {
  /** Extra environment for the tools (e.g. LD_LIBRARY_PATH for petlib). */
  env?: Record<string, string>;
  /** Per tool run. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A step's tool ran but its output did not confirm the step (or the tool could not run). */
export class ToolStepError extends Error {
  constructor(
    readonly node: string,
    readonly step: string,
    readonly tool: string,
    readonly reason: string,
    readonly output: ToolOutput | null,
  ) {
    super(`node ${node}: step "${step}" failed: ${tool} ${reason}${output ? `; it printed: ${printed(output)}` : ''}`);
    this.name = 'ToolStepError';
  }
}

/** Raised by create after a failed step, with what the rollback did. */
export class CreateFailedError extends Error {
  constructor(override readonly cause: Error, readonly rollback: readonly string[], readonly leaked: readonly string[]) {
    super(
      `${cause.message}. Rollback: ${rollback.length ? rollback.join('; ') : 'nothing to undo'}` +
        (leaked.length ? `. NOT undone (clean up by hand): ${leaked.join('; ')}` : ''),
    );
    this.name = cause.name === 'AbortError' ? 'AbortError' : 'CreateFailedError';
  }
}

/** Output as one quoted string for messages: stdout and stderr lines, trimmed to a readable size. */
export function printed(out: ToolOutput): string {
  const lines = [...out.stdout.split('\n'), ...out.stderr.split('\n').map((l) => (l ? `[stderr] ${l}` : l))].filter((l) => l.trim() !== '');
  const text = lines.join(' | ');
  const exit = out.code === null ? 'killed' : `exit ${out.code}`;
  return `${JSON.stringify(text.length > 600 ? `${text.slice(0, 597)}...` : text || '(nothing)')} (${exit})`;
}

/** Runs one tool; rejects with a {@link ToolStepError} when it could not run at all. */
export async function runTool(node: NodeTransport, step: string, argv: readonly string[], options: ToolRunOptions): Promise<ToolOutput> {
  try {
    const r = await node.exec(argv, { env: options.env, timeoutMs: options.timeoutMs, signal: options.signal });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ToolStepError(node.node, step, argv[0] ?? '?', `could not run: ${(err as Error).message}`, null);
  }
}

/** One confirmed step: runs the tool, parses its output, throws a {@link ToolStepError} unless confirmed. */
export type Step = <T>(name: string, argv: string[], parse: (out: ToolOutput) => Parsed<T>, signal?: AbortSignal) => Promise<{ ok: true } & T>;

/**
 * The step function of one create: checks for cancellation before each step, logs the step, runs
 * the tool (with `signal` only where a killed tool cannot leave something unknown behind).
 */
export function stepRunner(node: NodeTransport, ctx: Pick<DriverContext, 'log' | 'signal'>, partition: string, run: Omit<ToolRunOptions, 'signal'>): Step {
  return async (name, argv, parse, signal) => {
    checkAborted(ctx.signal, node.node, name);
    ctx.log(`Partition ${partition}: ${name}: ${[basename(argv[0] ?? ''), ...argv.slice(1)].join(' ')}`);
    const out = await runTool(node, name, argv, { ...run, signal });
    const r = parse(out);
    if (!r.ok) throw new ToolStepError(node.node, name, basename(argv[0]!), r.reason, out);
    return r;
  };
}

interface Undo {
  label: string;
  run: () => Promise<void>;
}

/**
 * The undo stack of one create. `unwind` runs the undos last-first; an undo that fails is reported
 * (as leaked) and the rest still run. Undos run without the create's AbortSignal: a cancelled create
 * must still tear down what it built.
 */
export class Rollback {
  private readonly undos: Undo[] = [];

  push(label: string, run: () => Promise<void>): void {
    this.undos.push({ label, run });
  }

  async unwind(ctx: Pick<DriverContext, 'log'>): Promise<{ done: string[]; leaked: string[] }> {
    const done: string[] = [];
    const leaked: string[] = [];
    while (this.undos.length) {
      const u = this.undos.pop()!;
      try {
        await u.run();
        done.push(u.label);
        ctx.log(`Rolled back: ${u.label}.`);
      } catch (err) {
        leaked.push(`${u.label} (${(err as Error).message})`);
        ctx.log(`Could not roll back ${u.label}: ${(err as Error).message}`);
      }
    }
    return { done, leaked };
  }
}

/** Throws the AbortSignal's reason as an AbortError when the create was cancelled between steps. */
export function checkAborted(signal: AbortSignal | undefined, node: string, step: string): void {
  if (signal?.aborted) {
    const e = new Error(`node ${node}: cancelled before step "${step}"`);
    e.name = 'AbortError';
    throw e;
  }
}
