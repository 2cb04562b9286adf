/**
 * The process logger: JSON lines (pino) on stderr, so stdout stays free for command output that
 * scripts read. Secrets are redacted by key name wherever they appear in logged objects.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['password', 'token', 'secret', '*.password', '*.token', '*.secret', '*.readonlyPassword', 'authorization', '*.authorization'];

let root: Logger | null = null;

/** The root logger; `level` applies on first call (the CLI calls it once with the configured level). */
export function logger(level: string = process.env.ISOSCOPE_LOG_LEVEL ?? 'info'): Logger {
  root ??= pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }, pino.destination(2));
  return root;
}

/** A child logger for one component, e.g. `componentLogger('ingest')`. */
export function componentLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return logger().child({ component, ...bindings });
}
