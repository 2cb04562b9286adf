/**
 * Interrupt readings of the procfs source: `irq.count` per IRQ and CPU over the interval, from two
 * readings of /proc/interrupts. A node has hundreds of IRQ × CPU pairs, most idle, so only pairs
 * whose count changed are reported, and at most `maxSamples` of them (the busiest); the rest are
 * summed per CPU under `irq` = "other", so per-CPU totals stay exact.
 */
import type { SourceSample } from '../source.js';
import type { Interrupts } from './parse-interrupts.js';

/** Per-IRQ, per-CPU interrupt counts between two readings, bounded as described above. */
export function interruptDeltas(before: Interrupts, after: Interrupts, maxSamples: number): SourceSample[] {
  const previous = new Map<string, Map<number, number>>();
  for (const row of before.rows) previous.set(row.id, countsByCpu(before.cpus, row.counts));
  const changed: SourceSample[] = [];
  for (const row of after.rows) {
    const old = previous.get(row.id);
    if (!old) continue;
    for (const [cpu, count] of countsByCpu(after.cpus, row.counts)) {
      const prev = old.get(cpu);
      if (prev === undefined || count <= prev) continue; // unchanged, or reset (CPU replugged)
      changed.push({ metric: 'irq.count', value: count - prev, cpu, irq: row.label });
    }
  }
  if (changed.length <= maxSamples) return changed;
  changed.sort((a, b) => b.value - a.value);
  const kept = changed.slice(0, maxSamples);
  const other = new Map<number, number>();
  for (const s of changed.slice(maxSamples)) other.set(s.cpu!, (other.get(s.cpu!) ?? 0) + s.value);
  for (const [cpu, value] of other) kept.push({ metric: 'irq.count', value, cpu, irq: 'other' });
  return kept;
}

/** Counts keyed by CPU; a row with fewer counts than CPUs (ERR, MIS) is node-wide: CPU -1. */
function countsByCpu(cpus: readonly number[], counts: readonly number[]): Map<number, number> {
  if (counts.length < cpus.length) return new Map([[-1, counts.reduce((a, b) => a + b, 0)]]);
  return new Map(counts.map((c, i) => [cpus[i]!, c]));
}
