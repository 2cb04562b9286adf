/**
 * Error classification: a permanent error will fail the same way on every retry (the store refused
 * the data itself), so the caller must route the data elsewhere (the dead-letter topic) instead of
 * retrying; every other error is treated as retriable (a server restarting, a network blip).
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
  readonly permanent = true;
}

export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

/** An error caused by the user's input or environment: shown as its message, without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** A wrong argument, option or setting value (exit status 2 on the command line). */
export class UsageError extends UserError {
  override name = 'UsageError';
}
