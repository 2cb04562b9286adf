/**
 * How the orchestrator reaches a node: `ssh` (ssh2, host key always verified) or `local` (this
 * machine, no SSH). Commands are argv arrays, never shell strings: the transport quotes every
 * argument itself (see quote.ts), so nothing user-supplied reaches a shell unquoted.
 */
import type { Duplex } from 'node:stream';
import type { Lifecycle } from '../../schema/lifecycle.js';

/** The outcome of one finished command. */
export interface ExecResult {
  /** Exit code; null when the command was killed by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Environment variables for the command (names must match /^[A-Za-z_][A-Za-z0-9_]*$/). */
  env?: Record<string, string>;
  /** Working directory on the node. */
  cwd?: string;
  /** Called with every complete stdout / stderr line as it arrives (workload output → `events`). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Aborting kills the remote process (group) and rejects with an AbortError-like error. */
  signal?: AbortSignal;
  /** Kill the command after this long and reject with a timeout error naming the command. */
  timeoutMs?: number;
  /** Text written to the command's stdin, then stdin is closed. */
  stdin?: string;
}

/** One connected node. `exec` resolves with any exit code; it rejects only when the command could not run. */
export interface NodeTransport extends Lifecycle {
  /** Node name as used in records (`node` column). */
  readonly node: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * A byte stream to a Unix socket on the node (a `kvm` partition's QMP and guest-agent sockets):
   * a direct connection locally, a streamlocal forward over SSH. Rejects when nothing listens there.
   */
  connectUnix?(path: string): Promise<Duplex>;
}
