/**
 * The observer-effect bench's noise analysis tells white noise from drift (the choice of windows
 * rests on it), and its CPU 0 footprint reads /proc/interrupts as the kernel writes it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { footprintLines, interruptRates, interruptsOf } from './observer-cpu0.js';
import { allan, autocorrelation, sandwichSpread, sliceLogs } from './observer-noise.js';
import { segmentRatios } from './observer-memory.js';
import { pairedSlowdown } from './observer-stats.js';

/** A seeded generator, so the test is the same on every run. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

describe('observer-effect noise analysis', () => {
  const g = gaussian(7);
  const white = Array.from({ length: 4000 }, () => 0.05 * g());
  let level = 0;
  const walk = Array.from({ length: 4000 }, () => (level += 0.01 * g()));

  it('white noise: no autocorrelation, Allan deviation falling as τ^-½, sandwiches at √1.5 of the slice spread', () => {
    expect(Math.abs(autocorrelation(white, 1))).toBeLessThan(0.06);
    const slope = Math.log(allan(white, 16) / allan(white, 1)) / Math.log(16);
    expect(slope).toBeGreaterThan(-0.6);
    expect(slope).toBeLessThan(-0.4);
    // x - (a + b) / 2 of independent values: σ √1.5.
    expect(sandwichSpread(white, 1, 0).sd / 0.05).toBeCloseTo(Math.sqrt(1.5), 1);
  });

  it('drift (a random walk): high autocorrelation, Allan deviation rising as τ^+½, and a gap makes sandwiches worse', () => {
    expect(autocorrelation(walk, 1)).toBeGreaterThan(0.9);
    const slope = Math.log(allan(walk, 16) / allan(walk, 1)) / Math.log(16);
    expect(slope).toBeGreaterThan(0.4);
    expect(slope).toBeLessThan(0.6);
    expect(sandwichSpread(walk, 2, 4).sd).toBeGreaterThan(sandwichSpread(walk, 2, 0).sd);
  });

  it('slices the triad reports into log bandwidth per CPU second', () => {
    // 10 ms passes of 200 MB at 20 GB per CPU second, the workload getting half the CPU in the second 100 ms.
    const reports = Array.from({ length: 31 }, (_, i) => ({ t: i * 1e7, cpu: i * 1e7, bytes: i * 2e8 }));
    const logs = sliceLogs(reports);
    expect(logs).toHaveLength(3);
    for (const x of logs) expect(Math.exp(x)).toBeCloseTo(2e10, -6);
  });

  it('the bootstrap interval of paired ratios holds the true slowdown and narrows with more pairs', () => {
    const ratios = (n: number) => Array.from({ length: n }, () => Math.exp(0.01 + 0.04 * g()));
    const few = pairedSlowdown(ratios(30), 4000, 3);
    const many = pairedSlowdown(ratios(480), 4000, 3);
    expect(many.lo).toBeLessThan(Math.exp(0.01));
    expect(many.hi).toBeGreaterThan(Math.exp(0.01));
    expect(many.hi - many.lo).toBeLessThan((few.hi - few.lo) / 2);
  });
});

describe('CPU 0 footprint', () => {
  const text = [
    '           CPU0       CPU1       ',
    '  1:          9          0  IO-APIC   1-edge      i8042',
    ' 41:        120         30  PCI-MSIX-0000:00:03.0   1-edge      virtio3-rx',
    'NMI:          0          0   Non-maskable interrupts',
    'LOC:    7523331    7814317   Local timer interrupts',
    'CAL:       1320       1223   Function call interrupts',
    'ERR:          0',
  ].join('\n');

  it('reads one CPU\'s column by kind, IRQ lines by their device', () => {
    expect(interruptsOf(0, text)).toEqual(new Map([['1 i8042', 9], ['41 virtio3-rx', 120], ['NMI', 0], ['LOC', 7523331], ['CAL', 1320], ['ERR', 0]]));
    expect(interruptsOf(1, text).get('CAL')).toBe(1223);
    expect(interruptsOf(7, text).size).toBe(0);
    const later = new Map(interruptsOf(0, text));
    later.set('LOC', 7523331 + 500);
    expect(interruptRates(interruptsOf(0, text), later, 2).get('LOC')).toBe(250);
  });

  it('prints each condition\'s means, TLB shootdowns once in the total and the other function calls apart', () => {
    const run = (cal: number, tlb: number) => ({ voluntary: 3, involuntary: 100, irqs: new Map([['LOC', 250], ['CAL', cal], ['TLB', tlb]]) });
    const [alone, hz10] = footprintLines(new Map([['alone', [run(6, 2), run(8, 4)]], ['10 Hz', [run(20, 8)]]]));
    expect(alone).toBe('alone                  context switches 3.0 voluntary + 100.0 involuntary /s; interrupts 257/s: CAL 7.0, LOC 250.0, TLB 3.0; function calls besides TLB shootdowns (CAL − TLB) 4.0');
    expect(hz10).toContain('interrupts 270/s');
    expect(hz10).toContain('(CAL − TLB) 12.0');
  });

  it('reads this machine\'s /proc/interrupts: the local timer of CPU 0 is there', () => {
    const m = interruptsOf(0, readFileSync('/proc/interrupts', 'utf8'));
    expect(m.get('LOC')).toBeGreaterThan(0);
  });
});

describe('observer-effect whole-segment ratios', () => {
  it('one ratio per segment of the condition: its alone windows over its collector windows (geometric means), other conditions and restart-mode windows left out', () => {
    const w = (segment: number, condition: string, rate: number) => ({ window: { round: 0, segment, condition, switched: 0, from: 0, to: 1, collectorCpuNs: 0 }, rate: { perSecond: rate, perCpuSecond: rate / 2 } });
    const rows = [
      w(0, 'alone', 100), w(0, '10 Hz', 98), w(0, 'alone', 100), w(0, '10 Hz', 98), w(0, 'alone', 100),
      w(1, 'alone', 90), w(1, 'placebo', 90), w(1, 'alone', 90),
      w(2, 'alone', 50), w(2, '10 Hz', 60), w(2, 'alone', 72),
      w(-1, 'alone', 1), w(-1, '10 Hz', 1000), w(-1, 'alone', 1),
    ];
    const ratios = segmentRatios(rows.map((r) => r.window), rows.map((r) => r.rate), '10 Hz', (r) => r.perSecond);
    expect(ratios).toHaveLength(2);
    expect(ratios[0]).toBeCloseTo(100 / 98, 10);
    expect(ratios[1]).toBeCloseTo(Math.sqrt(50 * 72) / 60, 10);
    expect(segmentRatios(rows.map((r) => r.window), rows.map((r) => r.rate), 'placebo', (r) => r.perCpuSecond)).toEqual([1]);
    // A window without a rate (too few reports) is left out, not counted as zero.
    expect(segmentRatios(rows.map((r) => r.window), rows.map((r, i) => (i === 1 ? null : r.rate)), '10 Hz', (r) => r.perSecond)[0]).toBeCloseTo(100 / 98, 10);
  });
});
