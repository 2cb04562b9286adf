/**
 * Paired ratios summarised for a verdict: median, geometric mean and its 95 % interval from
 * Student's t on the log ratios (for independent pairs: the scale-out bench's drains, the observer
 * bench's whole segments).
 */

/** Two-sided 95 % quantile of Student's t with `df` degrees of freedom. */
export function t95(df: number): number {
  const table = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.10, 2.09, 2.09];
  return df <= table.length ? table[df - 1]! : 1.96 + 2.5 / df;
}

/** Median, geometric mean and its 95 % interval of ratios (t on the logs). */
export function ratioStats(ratios: number[]): { median: number; geo: number; lo: number; hi: number } {
  const sorted = [...ratios].sort((a, b) => a - b);
  const m = sorted.length;
  const median = m % 2 ? sorted[(m - 1) / 2]! : (sorted[m / 2 - 1]! + sorted[m / 2]!) / 2;
  const logs = ratios.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / m;
  const sd = m > 1 ? Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1)) : NaN;
  const half = m > 1 ? t95(m - 1) * sd / Math.sqrt(m) : NaN;
  return { median, geo: Math.exp(mean), lo: Math.exp(mean - half), hi: Math.exp(mean + half) };
}
