/**
 * The time structure of the memory-bound workload's own noise, without the collector: how the
 * STREAM triad's bandwidth moves between windows of 0.1–2 s, to choose a window (and settle) length
 * for the paired comparison, or to say how many pairs ±1 % needs.
 *
 * From one run of the triad alone it takes the bandwidth per CPU second in 100 ms slices and prints
 * - the autocorrelation of the slices' log bandwidth at lags of 0.1–5 s (slow drift: high at long
 *   lags; white noise: near 0 from lag 1);
 * - the Allan deviation per window length τ (half the spread of adjacent windows' log ratio, made
 *   comparable across τ): falling as τ^-½ means white noise (longer windows help), flat means
 *   flicker, rising means drift (shorter windows help);
 * - per window length and gap (the settle time between windows), the spread of the sandwich the
 *   bench uses (a window against the geometric mean of its neighbours), the pairs ±1 % needs at it
 *   (1.96 σ / √n ≤ 1 %) and how long those pairs take.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTriad, windowRate, type Report } from './observer-memory.js';
import { mean } from './observer-stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SLICE = 0.1;

const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

/** Log bandwidth per CPU second in consecutive slices of `slice` s from the first report on (NaN where a slice has too few reports). */
export function sliceLogs(reports: readonly Report[], slice = SLICE): number[] {
  const out: number[] = [];
  const t0 = reports[0]!.t;
  const end = reports.at(-1)!.t;
  for (let from = t0; from + slice * 1e9 <= end; from += slice * 1e9) {
    const r = windowRate(reports, from, from + slice * 1e9);
    out.push(r ? Math.log(r.perCpuSecond) : NaN);
  }
  return out;
}

/** Autocorrelation of the series at `lag` (pairs with a NaN left out). */
export function autocorrelation(xs: readonly number[], lag: number): number {
  const ok = xs.filter(Number.isFinite);
  const m = mean(ok);
  const v = ok.reduce((a, x) => a + (x - m) ** 2, 0) / ok.length;
  let s = 0;
  let n = 0;
  for (let i = 0; i + lag < xs.length; i++) {
    const a = xs[i]!;
    const b = xs[i + lag]!;
    if (Number.isFinite(a) && Number.isFinite(b)) {
      s += (a - m) * (b - m);
      n++;
    }
  }
  return n > 0 ? s / n / v : NaN;
}

/** Mean log bandwidth of windows of `w` slices, one every `w + g` slices (g slices of gap dropped between them). */
export function windows(logs: readonly number[], w: number, g: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + w <= logs.length; i += w + g) {
    const part = logs.slice(i, i + w).filter(Number.isFinite);
    if (part.length >= Math.ceil(w / 2)) out.push(mean(part));
  }
  return out;
}

/** The Allan deviation of windows of `w` slices: σ of adjacent windows' difference / √2. */
export function allan(logs: readonly number[], w: number): number {
  const ws = windows(logs, w, 0);
  return sd(ws.slice(1).map((x, i) => x - ws[i]!)) / Math.SQRT2;
}

/** σ of the sandwich (a window against the mean of its two neighbours, in logs), every other window as the bench alternates. */
export function sandwichSpread(logs: readonly number[], w: number, g: number): { sd: number; n: number } {
  const ws = windows(logs, w, g);
  const d: number[] = [];
  for (let i = 1; i + 1 < ws.length; i += 2) d.push(ws[i]! - (ws[i - 1]! + ws[i + 1]!) / 2);
  return { sd: d.length > 2 ? sd(d) : NaN, n: d.length };
}

/** Runs the triad alone for `seconds` and prints its noise's time structure. */
export async function noisePart(o: { seconds: number; mib: number; gaps: readonly number[] }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-triad-noise-'));
  try {
    console.log(`  STREAM triad alone on CPU 0 for ${o.seconds} s (3 × ${o.mib} MiB), bandwidth per CPU second in ${SLICE * 1000} ms slices; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const triad = await startTriad(dir, o.mib);
    await sleep(o.seconds * 1000);
    const reports = await triad.stop();
    const logs = sliceLogs(reports);
    const ok = logs.filter(Number.isFinite);
    console.log(`    ${logs.length} slices (${logs.length - ok.length} with too few reports); ${(Math.exp(mean(ok)) / 2 ** 30).toFixed(2)} GiB per CPU second (geometric mean), σ between slices ${(sd(ok) * 100).toFixed(2)} %`);
    console.log(`    autocorrelation of the slices: ${[1, 2, 3, 5, 10, 20, 30, 50].filter((l) => l < logs.length / 4).map((l) => `${(l * SLICE).toFixed(1)} s ${autocorrelation(logs, l).toFixed(2)}`).join(', ')}`);
    const taus = [1, 2, 3, 5, 10, 20].filter((w) => w * 8 < logs.length);
    const adev = taus.map((w) => allan(logs, w));
    console.log(`    Allan deviation: ${taus.map((w, i) => `τ ${(w * SLICE).toFixed(1)} s ${(adev[i]! * 100).toFixed(2)} %`).join(', ')}`);
    if (taus.length >= 2) {
      const slope = Math.log(adev.at(-1)! / adev[0]!) / Math.log(taus.at(-1)! / taus[0]!);
      console.log(`    its slope over τ: ${slope.toFixed(2)} (white noise -0.5: longer windows help; flicker 0; drift +0.5: shorter windows help)`);
    }
    console.log(`    sandwiches (window against the mean of its neighbours, one every other window) per window and gap (settle time between windows):`);
    for (const g of o.gaps) {
      for (const w of [1, 2, 3, 5, 10, 20]) {
        const gs = Math.round(g / SLICE);
        const s = sandwichSpread(logs, w, gs);
        if (!(s.n >= 8)) continue;
        const pairs = Math.ceil((1.96 * s.sd / 0.01) ** 2);
        const minutes = (pairs * 2 * (w * SLICE + gs * SLICE)) / 60;
        console.log(`      window ${(w * SLICE).toFixed(1)} s, gap ${(gs * SLICE).toFixed(1)} s: σ ${(s.sd * 100).toFixed(2)} % (${s.n} sandwiches); ±1 % needs about ${pairs} pairs, ${minutes.toFixed(1)} min`);
      }
    }
    console.log(`    load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
