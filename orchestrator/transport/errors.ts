/** Errors a transport rejects with: the command was aborted, or ran out of time. */

/** Rejected when `ExecOptions.signal` aborted the command (the process group was killed). */
export class ExecAbortedError extends Error {
  override name = 'AbortError';
  constructor(readonly node: string, readonly argv: readonly string[]) {
    super(`command ${describeArgv(argv)} on node ${node} was aborted (its processes were killed)`);
  }
}

/** Rejected when `ExecOptions.timeoutMs` passed (the process group was killed). */
export class ExecTimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(readonly node: string, readonly argv: readonly string[], readonly timeoutMs: number) {
    super(`command ${describeArgv(argv)} on node ${node} did not finish within ${timeoutMs} ms and was killed`);
  }
}

/** A short, readable form of an argv for messages (first words, truncated). */
export function describeArgv(argv: readonly string[]): string {
  const text = argv.join(' ');
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text);
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
