/**
 * The statistics of /api/compare, pure: means and sample variances, Student's t quantiles (from
 * the regularised incomplete beta function), Welch's t interval for a difference of means, the
 * slowdown as a ratio of geometric means with the Welch interval of the log difference, and
 * Hedges' g (Cohen's d with the small-sample correction).
 */

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample variance (n − 1); NaN for fewer than two values. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (Numerical Recipes' betacf). */
function betaContinued(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinued(a, b, x)) / a : 1 - (front * betaContinued(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional, as Welch's is). */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The t quantile: tQuantile(0.975, 10) ≈ 2.228. Bisection on tCdf, to 1e-12. */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  df: number;
  level: number;
}

/**
 * Welch's t interval for mean(b) − mean(a): unequal variances, Welch–Satterthwaite degrees of
 * freedom. Null when either group has fewer than two values or both have no spread.
 */
export function welchInterval(a: readonly number[], b: readonly number[], level = 0.95): Interval | null {
  if (a.length < 2 || b.length < 2) return null;
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const se = Math.sqrt(va + vb);
  const estimate = mean(b) - mean(a);
  if (se === 0) return { estimate, low: estimate, high: estimate, df: a.length + b.length - 2, level };
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const t = tQuantile(1 - (1 - level) / 2, df);
  return { estimate, low: estimate - t * se, high: estimate + t * se, df, level };
}

/**
 * Slowdown of `interfered` against `baseline`: the ratio of geometric means, with the Welch
 * interval of the difference of mean logs, exponentiated. `higherIsBetter` (e.g. GFLOP/s) turns
 * it round, so slowdown > 1 always means "slower with interference".
 */
export function slowdown(baseline: readonly number[], interfered: readonly number[], higherIsBetter: boolean, level = 0.95): Interval | null {
  if ([...baseline, ...interfered].some((x) => !(x > 0))) return null;
  const [a, b] = higherIsBetter ? [interfered, baseline] : [baseline, interfered];
  const i = welchInterval(a.map(Math.log), b.map(Math.log), level);
  if (!i) return null;
  return { estimate: Math.exp(i.estimate), low: Math.exp(i.low), high: Math.exp(i.high), df: i.df, level };
}

/** Hedges' g of b against a: (mean b − mean a) / pooled SD × (1 − 3 / (4(n_a + n_b) − 9)). Null when undefined. */
export function hedgesG(a: readonly number[], b: readonly number[]): number | null {
  const na = a.length;
  const nb = b.length;
  if (na < 2 || nb < 2) return null;
  const pooled = Math.sqrt(((na - 1) * variance(a) + (nb - 1) * variance(b)) / (na + nb - 2));
  if (pooled === 0) return null;
  return ((mean(b) - mean(a)) / pooled) * (1 - 3 / (4 * (na + nb) - 9));
}

/**
 * Geometric mean of positive values with the t interval of the mean log, exponentiated (the error
 * bars of the scaling figure). low/high are null for fewer than two values; null for none or any
 * value ≤ 0.
 */
export function geometricMean(xs: readonly number[], level = 0.95): { estimate: number; low: number | null; high: number | null; n: number; level: number } | null {
  if (xs.length === 0 || xs.some((x) => !(x > 0))) return null;
  const logs = xs.map(Math.log);
  const m = mean(logs);
  if (xs.length < 2) return { estimate: xs[0]!, low: null, high: null, n: 1, level };
  const half = tQuantile(1 - (1 - level) / 2, xs.length - 1) * Math.sqrt(variance(logs) / xs.length);
  return { estimate: Math.exp(m), low: Math.exp(m - half), high: Math.exp(m + half), n: xs.length, level };
}

/** Ratio of geometric means, oriented so that > 1 means slower with interference; null when undefined. */
export function slowdownEstimate(baseline: readonly number[], interfered: readonly number[], higherIsBetter: boolean): number | null {
  const a = geometricMean(baseline);
  const b = geometricMean(interfered);
  if (!a || !b) return null;
  return higherIsBetter ? a.estimate / b.estimate : b.estimate / a.estimate;
}

/**
 * Quantile q of a cumulative histogram (Prometheus `histogram_quantile`): bucket upper bounds with
 * cumulative counts, linear interpolation inside the bucket (from 0 for the first one); the last
 * finite bound when q falls in `+Inf`. Null without observations.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le;
    }
    prevLe = Number.isFinite(b.le) ? b.le : prevLe;
    prevCount = b.count;
  }
  return prevLe;
}
