/**
 * Retrying with full-jitter exponential backoff, for the errors classified as retriable (a broker
 * or database that is restarting). Permanent errors are re-thrown at once.
 */
export interface BackoffOptions {
  /** First delay, ms. @default 200 */
  initialMs?: number;
  /** Longest delay, ms. @default 10000 */
  maxMs?: number;
  /** Give up after this many ms in total (Infinity: never). @default Infinity */
  deadlineMs?: number;
  /** Decides whether an error is worth another try. @default every error */
  retriable?: (err: unknown) => boolean;
  /** Called before each wait, for logging and metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying when aborted. */
  signal?: AbortSignal;
}

export async function withBackoff<T>(fn: () => Promise<T>, o: BackoffOptions = {}): Promise<T> {
  const initial = o.initialMs ?? 200;
  const max = o.maxMs ?? 10_000;
  const giveUpAt = Date.now() + (o.deadlineMs ?? Infinity);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (o.retriable && !o.retriable(err)) throw err;
      if (o.signal?.aborted) throw err;
      const delay = Math.random() * Math.min(max, initial * 2 ** (attempt - 1));
      if (Date.now() + delay > giveUpAt) throw err;
      o.onRetry?.(err, attempt, delay);
      await sleep(delay, o.signal);
    }
  }
}

/**
 * The full-jitter delay before retry number `attempt` (1 = the first retry), as withBackoff waits;
 * for callers that keep their attempts elsewhere (alerts/delivery persists them on disk).
 * @example backoffDelay(3, 200, 10_000) // uniform in [0, 800)
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.random() * Math.min(maxMs, initialMs * 2 ** (attempt - 1));
}

/** Sleeps `ms`, ending early on abort; removes its listener either way (a long-lived signal sees many sleeps). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
