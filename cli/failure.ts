/**
 * How the command line ends when something goes wrong, in one place: a failure is one line naming the
 * command and what went wrong (no stack trace unless asked with --verbose or ISOSCOPE_DEBUG=1); usage
 * errors exit 2, failures 1; output into a closed pipe (`isoscope parse … | head -1`) ends quietly.
 */
import { UsageError } from '../core/errors.js';

let verbose = ['1', 'true', 'yes'].includes((process.env.ISOSCOPE_DEBUG ?? '').toLowerCase());

/** Turns stack traces on (the global --verbose option). */
export function setVerbose(on: boolean): void {
  verbose ||= on;
}

export function isVerbose(): boolean {
  return verbose;
}

/** Errors whose message is the whole story: the user's input or environment, said precisely. */
function isUserFacing(err: Error): boolean {
  return ['ConfigError', 'UserError', 'UsageError', 'ServicesError'].includes(err.name) || /^(cannot|invalid|config)/i.test(err.message ?? '');
}

/** The text printed for `err`: its message; the stack too when verbose, and a hint for unexpected errors. */
export function failureText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (verbose) return err.stack ?? err.message;
  if (isUserFacing(err)) return err.message;
  return `${err.message} (--verbose or ISOSCOPE_DEBUG=1 shows where)`;
}

/** Exit code for `err`: 2 for usage errors (a wrong argument or option value), 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}

/**
 * Prints a failure of `command` and sets the exit code.
 * @example reportFailure('sql', err) // "isoscope sql: syntax error at or near …", exit code 1
 */
export function reportFailure(command: string, err: unknown): void {
  process.stderr.write(`isoscope ${command}: ${failureText(err)}\n`);
  process.exitCode = exitCodeOf(err);
}

/**
 * A reader that went away (`| head -1`) is the normal end of a pipeline, not an error: exit quietly
 * (status 0, as the output that was wanted has been written) instead of an unhandled EPIPE.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
