/**
 * Baseline deviation: the value judged against the distribution of the same metric in runs of the
 * same workload and configuration without background (loaded from the store by
 * alerts/baselines.ts). `zscore` breaches when |x − mean| / std exceeds `z`; `quantile` breaches
 * above the q-quantile (direction above) or below the (1 − q)-quantile (below).
 */
import type { BaselineConfig } from '../rules/schema.js';
import type { Detector } from './detector.js';
import { fmt } from './threshold.js';

/** Summary of a baseline distribution. */
export interface BaselineStats {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  std: number;
  /** (1 − q)- and q-quantiles, linear interpolation between order statistics. */
  low: number;
  high: number;
}

/** Summarises baseline values for a detector configuration. Null when there are fewer than minSamples. */
export function baselineStats(values: readonly number[], c: Pick<BaselineConfig, 'quantile' | 'minSamples'>): BaselineStats | null {
  const n = values.length;
  if (n < c.minSamples || n < 2) return null;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const sorted = [...values].sort((a, b) => a - b);
  return { n, mean, std, low: quantile(sorted, 1 - c.quantile), high: quantile(sorted, c.quantile) };
}

/**
 * Quantile of sorted values, linear interpolation (type 7, as R and numpy default).
 * @example quantile([1, 2, 3, 4], 0.5) === 2.5
 */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** z-score of x against the stats; a zero std gives ±Infinity for any difference (0 for none). */
export function zScore(s: BaselineStats, x: number): number {
  const d = x - s.mean;
  if (s.std === 0) return d === 0 ? 0 : d > 0 ? Infinity : -Infinity;
  return d / s.std;
}

export function baselineBreach(c: BaselineConfig, s: BaselineStats, x: number): boolean {
  const up = c.direction !== 'below';
  const down = c.direction !== 'above';
  if (c.method === 'zscore') {
    const z = zScore(s, x);
    return (up && z > c.z) || (down && z < -c.z);
  }
  return (up && x > s.high) || (down && x < s.low);
}

/** Judges values against stats that arrive later (null until the store answered). */
export class BaselineDetector implements Detector {
  private last = NaN;
  constructor(private readonly c: BaselineConfig, private readonly stats: () => BaselineStats | null) {}

  update(value: number): boolean | null {
    this.last = value;
    const s = this.stats();
    return s ? baselineBreach(this.c, s, value) : null;
  }

  explain(): string {
    const s = this.stats();
    if (!s) return 'no baseline';
    if (this.c.method === 'zscore') return `z = ${fmt(zScore(s, this.last))} vs ±${this.c.z} (baseline mean ${fmt(s.mean)}, std ${fmt(s.std)}, n ${s.n})`;
    return `${fmt(this.last)} vs baseline [${fmt(s.low)}, ${fmt(s.high)}] (q ${this.c.quantile}, n ${s.n})`;
  }
}
