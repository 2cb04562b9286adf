/**
 * Change-point detection by a two-sided tabular CUSUM (Page 1954; Montgomery, "Introduction to
 * Statistical Quality Control", §9.1) on the running series itself:
 *  - the first `warmup` values estimate the in-control mean μ and standard deviation σ (σ floored at
 *    `minRelStd`·|μ|, and at 1e-12, so a near-constant warm-up does not turn every wiggle into a change);
 *  - then, with z = (x − μ)/σ: S⁺ ← max(0, S⁺ + z − k), S⁻ ← max(0, S⁻ − z − k);
 *  - a value breaches while S⁺ > h (direction above/both) or S⁻ > h (below/both).
 * Both sums are capped at 2h, so once the series is back in control the breach clears after at
 * most about h/k values instead of lasting as long as the shift did. μ and σ are not re-estimated
 * after warm-up: a persistent shift stays a breach until it goes away.
 */
import type { ChangePointConfig } from '../rules/schema.js';
import type { Detector } from './detector.js';
import { fmt } from './threshold.js';

export class CusumDetector implements Detector {
  private readonly warm: number[] = [];
  private mean = NaN;
  private std = NaN;
  private up = 0;
  private down = 0;

  constructor(private readonly c: Pick<ChangePointConfig, 'warmup' | 'k' | 'h' | 'direction' | 'minRelStd'>) {}

  update(x: number): boolean | null {
    if (this.warm.length < this.c.warmup) {
      this.warm.push(x);
      if (this.warm.length === this.c.warmup) this.fit();
      return null;
    }
    const z = (x - this.mean) / this.std;
    const cap = 2 * this.c.h;
    this.up = Math.min(cap, Math.max(0, this.up + z - this.c.k));
    this.down = Math.min(cap, Math.max(0, this.down - z - this.c.k));
    return (this.c.direction !== 'below' && this.up > this.c.h) || (this.c.direction !== 'above' && this.down > this.c.h);
  }

  private fit(): void {
    const n = this.warm.length;
    this.mean = this.warm.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(this.warm.reduce((a, b) => a + (b - this.mean) ** 2, 0) / (n - 1));
    this.std = Math.max(sd, this.c.minRelStd * Math.abs(this.mean), 1e-12);
  }

  /** The sums, for tests and messages. */
  get state(): { mean: number; std: number; up: number; down: number } {
    return { mean: this.mean, std: this.std, up: this.up, down: this.down };
  }

  explain(): string {
    if (Number.isNaN(this.mean)) return `warming up (${this.warm.length}/${this.c.warmup})`;
    return `CUSUM S+ ${fmt(this.up)} S- ${fmt(this.down)} vs h ${this.c.h} (μ ${fmt(this.mean)}, σ ${fmt(this.std)}, k ${this.c.k})`;
  }
}
