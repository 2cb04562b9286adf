/**
 * The process logger: on stderr, so stdout stays free for command output that scripts read; JSON
 * lines (pino) for services and anything not on a terminal, short human lines on a terminal. Secrets are redacted by key name wherever they appear in logged objects.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { textDestination } from './log-text.js';

export type { Logger };

const REDACT = ['password', 'token', 'secret', '*.password', '*.token', '*.secret', '*.readonlyPassword', 'authorization', '*.authorization'];

let root: Logger | null = null;

export type LogFormat = 'auto' | 'json' | 'text';

/**
 * The root logger; `level` and `format` apply on first call (the CLI calls it once with the
 * configured ones). `auto` is short human lines when stderr is a terminal, else JSON lines.
 */
export function logger(level: string = process.env.ISOSCOPE_LOG_LEVEL ?? 'info', format: string = process.env.ISOSCOPE_LOG_FORMAT ?? 'auto'): Logger {
  const text = format === 'text' || (format === 'auto' && process.stderr.isTTY === true);
  const debug = ['1', 'true', 'yes'].includes((process.env.ISOSCOPE_DEBUG ?? '').toLowerCase());
  root ??= pino(
    { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } },
    text ? textDestination((line) => writeSync(2, line), debug) : pino.destination(2),
  );
  return root;
}

/** A child logger for one component, e.g. `componentLogger('ingest')`. */
export function componentLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return logger().child({ component, ...bindings });
}
