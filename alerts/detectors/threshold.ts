/** Static threshold: the value compared with a constant. */
import type { ThresholdConfig } from '../rules/schema.js';
import type { Detector } from './detector.js';

/**
 * Whether `value` breaches the threshold.
 * @example thresholdBreach({ kind: 'threshold', op: '>', value: 5 }, 6) === true
 */
export function thresholdBreach(c: ThresholdConfig, value: number): boolean {
  switch (c.op) {
    case '>': return value > c.value;
    case '>=': return value >= c.value;
    case '<': return value < c.value;
    case '<=': return value <= c.value;
  }
}

export class ThresholdDetector implements Detector {
  private last = NaN;
  constructor(private readonly c: ThresholdConfig) {}

  update(value: number): boolean {
    this.last = value;
    return thresholdBreach(this.c, value);
  }

  explain(): string {
    return `${fmt(this.last)} ${this.c.op} ${fmt(this.c.value)}`;
  }
}

export const fmt = (x: number) => (Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(4));
