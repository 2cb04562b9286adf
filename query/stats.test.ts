/**
 * The statistics of /api/compare against values computed by hand (shown in the comments) and, for
 * t quantiles, against published table values (scipy.stats.t.ppf agrees to all digits shown).
 */
import { describe, expect, it } from 'vitest';
import { geometricMean, hedgesG, histogramQuantile, mean, slowdown, slowdownEstimate, tCdf, tQuantile, variance, welchInterval } from './stats.js';

const A = [10, 12, 14]; // mean 12, variance (4 + 0 + 4) / 2 = 4
const B = [15, 16, 17, 20]; // mean 17, variance (4 + 1 + 0 + 9) / 3 = 14/3

describe('statistics', () => {
  it('mean and sample variance', () => {
    expect(mean(A)).toBe(12);
    expect(variance(A)).toBe(4);
    expect(variance(B)).toBeCloseTo(14 / 3, 14);
    expect(variance([5])).toBeNaN();
  });

  it('t quantiles match the tables', () => {
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228138852, 8);
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.70620474, 7);
    expect(tQuantile(0.95, 30)).toBeCloseTo(1.697260887, 8);
    expect(tQuantile(0.025, 10)).toBeCloseTo(-2.228138852, 8);
    expect(tCdf(0, 4.2)).toBeCloseTo(0.5, 14);
    expect(tCdf(1.5, 3.7)).toBeCloseTo(0.8932009154, 9);
  });

  it("Welch's interval: df and bounds by hand", () => {
    // se² = 4/3 + (14/3)/4 = 2.5; df = 2.5² / ((4/3)²/2 + (7/6)²/3) = 6.25 / 1.342592… = 4.655172…
    // t(0.975, 4.655172) = 2.628923506; half-width = 2.628923506 × √2.5 = 4.156693
    const i = welchInterval(A, B)!;
    expect(i.estimate).toBe(5);
    expect(i.df).toBeCloseTo(4.655172414, 8);
    expect(i.low).toBeCloseTo(0.843306964, 7);
    expect(i.high).toBeCloseTo(9.156693036, 7);
    expect(welchInterval([1], B)).toBeNull();
    expect(welchInterval([3, 3], [3, 3])).toEqual({ estimate: 0, low: 0, high: 0, df: 2, level: 0.95 });
  });

  it('slowdown is the ratio of geometric means with the exponentiated Welch interval of the logs', () => {
    // Lower is better (seconds): exp(mean ln B − mean ln A) = (15·16·17·20)^(1/4) / (10·12·14)^(1/3) = 1.421737589
    const s = slowdown(A, B, false)!;
    expect(s.estimate).toBeCloseTo(1.421737589, 8);
    expect(s.low).toBeCloseTo(1.015627976, 7);
    expect(s.high).toBeCloseTo(1.990234436, 7);
    // Higher is better (GFLOP/s): the same numbers read the other way round give the same slowdown.
    const h = slowdown(B, A, true)!;
    expect(h.estimate).toBeCloseTo(1.421737589, 8);
    expect(slowdown([0, 1], [1, 2], true)).toBeNull();
  });

  it("Hedges' g by hand", () => {
    // pooled SD = √((2·4 + 3·14/3) / 5) = √4.4 = 2.097617; d = 5 / 2.097617 = 2.383656;
    // J = 1 − 3 / (4·7 − 9) = 16/19; g = 2.007289
    expect(hedgesG(A, B)).toBeCloseTo(2.007289, 5);
    expect(hedgesG(B, A)).toBeCloseTo(-2.007289, 5);
    expect(hedgesG([1, 1], [2, 2])).toBeNull();
  });

  it('geometric mean with the t interval of the mean log', () => {
    // logs of 1, e², e⁴: mean 2, variance 4, se = 2/√3; t(0.975, 2) = 4.302652730
    const g = geometricMean([1, Math.E ** 2, Math.E ** 4])!;
    expect(g.estimate).toBeCloseTo(Math.E ** 2, 12);
    expect(Math.log(g.low!)).toBeCloseTo(2 - 4.30265273 * (2 / Math.sqrt(3)), 7);
    expect(Math.log(g.high!)).toBeCloseTo(2 + 4.30265273 * (2 / Math.sqrt(3)), 7);
    expect(geometricMean([5])).toEqual({ estimate: 5, low: null, high: null, n: 1, level: 0.95 });
    expect(geometricMean([])).toBeNull();
    expect(geometricMean([1, -1])).toBeNull();
    expect(slowdownEstimate([4], [2], true)).toBe(2);
    expect(slowdownEstimate([4], [2], false)).toBe(0.5);
  });

  it('histogram quantiles interpolate inside the bucket, as Prometheus does', () => {
    // 10 observations: 4 ≤ 1 ms, 8 ≤ 2 ms, 10 ≤ 4 ms. p50 = rank 5: 1 ms + 1 ms × (5 − 4)/4.
    const h = [{ le: 0.001, count: 4 }, { le: 0.002, count: 8 }, { le: 0.004, count: 10 }, { le: Infinity, count: 10 }];
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.00125, 12);
    expect(histogramQuantile(0.99, h)).toBeCloseTo(0.002 + 0.002 * (9.9 - 8) / 2, 12);
    expect(histogramQuantile(0.2, h)).toBeCloseTo(0.0005, 12);
    expect(histogramQuantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 100 }])).toBe(1);
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeNull();
  });
});
