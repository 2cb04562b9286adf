/** Option parsers shared by commands: each rejects bad input with what was expected. */
import { InvalidArgumentError } from 'commander';

export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n <= 0 || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected ${what} as a positive integer, got "${value}"`);
    return n;
  };
}

/**
 * A duration: `250ms`, `1s`, `1.5m`, `2h`, or a plain number of milliseconds.
 * @example duration('the interval')('100ms') === 100
 */
export function duration(what: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? 'ms') as 'ms'];
    const ms = m ? Math.round(Number(m[1]) * unit) : NaN;
    if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`expected ${what} as a duration like 100ms, 1s or 2m, got "${value}"`);
    return ms;
  };
}

export function oneOf<const T extends readonly string[]>(values: T) {
  return (value: string): T[number] => {
    if (!values.includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}, got "${value}"`);
    return value as T[number];
  };
}

export { reportFailure } from './failure.js';
export { UsageError, UserError } from '../core/errors.js';
