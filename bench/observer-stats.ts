/** The observer-effect bench's statistics: a paired slowdown with a bootstrap interval, and the verdict. */

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Geometric mean of paired ratios and its 95 % percentile-bootstrap interval: resampling pairs, or
 * with `block` > 1 runs of that many consecutive pairs (a moving-block bootstrap, for ratios in time
 * order that share a window with their neighbours).
 */
export function pairedSlowdown(ratios: number[], resamples = 10_000, block = 1): { ratio: number; lo: number; hi: number } {
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const b = Math.max(1, Math.min(block, n));
  const draws: number[] = [];
  for (let i = 0; i < resamples; i++) {
    let s = 0;
    for (let j = 0; j < n; ) {
      const start = Math.floor(Math.random() * n);
      for (let k = 0; k < b && j < n; k++, j++) s += logs[(start + k) % n]!;
    }
    draws.push(s / n);
  }
  draws.sort((a, b) => a - b);
  return { ratio: Math.exp(mean(logs)), lo: Math.exp(draws[Math.floor(0.025 * resamples)]!), hi: Math.exp(draws[Math.floor(0.975 * resamples)]!) };
}

/** Fewer pairs than this give no verdict: a bootstrap over a handful of pairs understates the spread. */
export const MIN_PAIRS = 10;

/** The verdict the goal asks for: only when the interval is narrower than ±1 % (and from enough pairs). */
export function verdict(s: { lo: number; hi: number }, pairs = MIN_PAIRS): string {
  if (pairs < MIN_PAIRS) return `cannot judge: fewer than ${MIN_PAIRS} pairs`;
  if ((s.hi - s.lo) / 2 > 0.01) return 'cannot judge: interval wider than ±1 %';
  return s.lo <= 1 && s.hi >= 1 ? 'not distinguishable from no effect (goal met)' : 'distinguishable from no effect (goal not met)';
}

/** One printed line: the slowdown at `hz`, its interval, the pairs and the verdict. */
export function slowdownLine(hz: number, ratios: number[], block = 1): string {
  return ratioLine(`collector ${String(hz).padStart(3)} Hz: slowdown`, ratios, block, hz === 10);
}

/** One printed line: the geometric mean of paired ratios under `label`, its interval, the pairs and the verdict (marked when it is `goal`'s). */
export function ratioLine(label: string, ratios: number[], block = 1, goal = false, judge = true): string {
  const s = pairedSlowdown(ratios, 10_000, block);
  const line = `${label} ${s.ratio.toFixed(4)}×, 95 % CI [${s.lo.toFixed(4)}, ${s.hi.toFixed(4)}] (±${(((s.hi - s.lo) / 2) * 100).toFixed(2)} %), ${ratios.length} pairs`;
  if (!judge) return `${line}: ${s.lo <= 1 && s.hi >= 1 ? 'no difference seen' : 'different'}`;
  return `${line}: ${verdict(s, ratios.length)}${goal ? '  ← the goal' : ''}`;
}

/**
 * The machine's own noise between two successive alone measurements: the standard deviation of
 * their log ratio, and the pairs an interval of ±1 % would need at that noise (1.96 σ / √n ≤ 1 %).
 */
export function noiseLine(alone: number[], apart = 'a block apart'): string {
  const logs = alone.slice(1).map((x, i) => Math.log(alone[i]! / x));
  if (logs.length < 2) return 'machine noise: too few blocks to tell';
  const m = mean(logs);
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (logs.length - 1));
  return `machine noise: alone vs alone ${apart} differ by σ ${(sd * 100).toFixed(2)} %; ±1 % needs about ${Math.ceil((1.96 * sd / 0.01) ** 2)} pairs at that noise`;
}
