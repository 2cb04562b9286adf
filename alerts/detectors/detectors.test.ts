/** The detectors on short series whose verdicts are computed by hand in the comments. */
import { describe, expect, it } from 'vitest';
import { baselineBreach, baselineStats, quantile, zScore } from './baseline.js';
import { CusumDetector } from './cusum.js';
import { thresholdBreach, ThresholdDetector } from './threshold.js';

describe('threshold', () => {
  it('compares with each operator', () => {
    expect([4, 5, 6].map((x) => thresholdBreach({ kind: 'threshold', op: '>', value: 5 }, x))).toEqual([false, false, true]);
    expect([4, 5, 6].map((x) => thresholdBreach({ kind: 'threshold', op: '>=', value: 5 }, x))).toEqual([false, true, true]);
    expect([4, 5, 6].map((x) => thresholdBreach({ kind: 'threshold', op: '<', value: 5 }, x))).toEqual([true, false, false]);
    expect([4, 5, 6].map((x) => thresholdBreach({ kind: 'threshold', op: '<=', value: 5 }, x))).toEqual([true, true, false]);
    const d = new ThresholdDetector({ kind: 'threshold', op: '<', value: 0.5 });
    expect(d.update(0.25)).toBe(true);
    expect(d.explain()).toBe('0.2500 < 0.5000');
  });
});

describe('baseline', () => {
  // [1..5]: mean 3, sample variance (4+1+0+1+4)/4 = 2.5, std 1.5811; q 0.75 → positions 3 and 1 → 4 and 2.
  const stats = baselineStats([5, 1, 4, 2, 3], { quantile: 0.75, minSamples: 5 })!;
  it('summarises the distribution', () => {
    expect(stats.n).toBe(5);
    expect(stats.mean).toBe(3);
    expect(stats.std).toBeCloseTo(Math.sqrt(2.5), 12);
    expect([stats.low, stats.high]).toEqual([2, 4]);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(baselineStats([1, 2, 3], { quantile: 0.9, minSamples: 4 })).toBeNull();
  });
  it('breaches on the z-score in the chosen direction', () => {
    // z(7) = 4 / 1.5811 = 2.53; z(0) = -1.90
    expect(zScore(stats, 7)).toBeCloseTo(2.5298, 4);
    const c = { kind: 'baseline', method: 'zscore', z: 2.5, quantile: 0.99, direction: 'both', minSamples: 5 } as const;
    expect(baselineBreach(c, stats, 7)).toBe(true);
    expect(baselineBreach({ ...c, z: 2.6 }, stats, 7)).toBe(false);
    expect(baselineBreach({ ...c, z: 1.8 }, stats, 0)).toBe(true);
    expect(baselineBreach({ ...c, z: 1.8, direction: 'above' }, stats, 0)).toBe(false);
  });
  it('breaches outside the quantiles', () => {
    const c = { kind: 'baseline', method: 'quantile', z: 3, quantile: 0.75, direction: 'both', minSamples: 5 } as const;
    expect([1.9, 2, 3, 4, 4.1].map((x) => baselineBreach(c, stats, x))).toEqual([true, false, false, false, true]);
    expect(baselineBreach({ ...c, direction: 'below' }, stats, 4.1)).toBe(false);
  });
});

describe('CUSUM', () => {
  it('warms up, detects a shift, caps and clears', () => {
    // warm-up [10,10,10]: μ 10, σ 0 floored to 0.1·10 = 1; k 0.5, h 2, cap 4.
    const d = new CusumDetector({ warmup: 3, k: 0.5, h: 2, direction: 'both', minRelStd: 0.1 });
    expect([10, 10, 10].map((x) => d.update(x))).toEqual([null, null, null]);
    expect(d.state.std).toBe(1);
    // S+: 10 → 0; 12 → 1.5; 12 → 3 (> 2); 12 → 4.5 capped 4; 10 → 3.5; 3; 2.5; 2 (not > 2)
    const verdicts = [10, 12, 12, 12, 10, 10, 10, 10].map((x) => d.update(x));
    expect(verdicts).toEqual([false, false, true, true, true, true, true, false]);
    expect(d.state.up).toBe(2);
    expect(d.state.down).toBe(0);
  });
  it('detects a drop only when looking below', () => {
    const above = new CusumDetector({ warmup: 3, k: 0.5, h: 2, direction: 'above', minRelStd: 0.1 });
    const below = new CusumDetector({ warmup: 3, k: 0.5, h: 2, direction: 'below', minRelStd: 0.1 });
    const xs = [10, 10, 10, 7, 7];
    // z = -3: S- 2.5 (> 2) then 5 → capped 4
    expect(xs.map((x) => above.update(x)).slice(3)).toEqual([false, false]);
    expect(xs.map((x) => below.update(x)).slice(3)).toEqual([true, true]);
    expect(below.state.down).toBe(4);
  });
});
