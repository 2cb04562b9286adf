/**
 * What happens on the workload's CPU besides the workload, per condition of the observer-effect
 * bench: the interrupts it takes (from /proc/interrupts, by kind: the local timer, rescheduling and
 * function-call IPIs, e.g. the one a perf counter read from another CPU sends to the CPU it counts
 * on) and the workload's own context switches (from its rusage). With a CPU-bound workload alone on
 * its CPU both should be few; what the collector adds to them is its footprint there.
 */
import { readFileSync } from 'node:fs';

/** Interrupt counts of one CPU by row of /proc/interrupts (the number for IRQ lines, the name for the rest: LOC, RES, CAL …). */
export function interruptsOf(cpu: number, text = readFileSync('/proc/interrupts', 'utf8')): Map<string, number> {
  const out = new Map<string, number>();
  const [header, ...rows] = text.split('\n');
  const column = (header ?? '').trim().split(/\s+/).indexOf(`CPU${cpu}`);
  if (column < 0) return out;
  for (const row of rows) {
    const parts = row.trim().split(/\s+/);
    const name = parts[0]?.replace(/:$/, '');
    const n = Number(parts[column + 1]);
    if (name && Number.isFinite(n)) {
      // IRQ lines by their device (the last word), the rest by their short name.
      const label = /^\d+$/.test(name) ? `${name} ${parts.at(-1)}` : name;
      out.set(label, (out.get(label) ?? 0) + n);
    }
  }
  return out;
}

/** The counts from `before` to `after` per second. */
export function interruptRates(before: Map<string, number>, after: Map<string, number>, seconds: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, (v - (before.get(k) ?? 0)) / seconds);
  return out;
}

/**
 * One line per condition: the workload's context switches per second and CPU 0's interrupts per
 * second by kind, keeping the kinds that reach 0.5/s in some condition (the mean over its runs).
 */
export function footprintLines(byCondition: Map<string, { voluntary: number; involuntary: number; irqs: Map<string, number> }[]>): string[] {
  const kinds = new Set<string>();
  const means = new Map<string, { voluntary: number; involuntary: number; irqs: Map<string, number> }>();
  for (const [label, runs] of byCondition) {
    if (runs.length === 0) continue;
    const irqs = new Map<string, number>();
    for (const r of runs) for (const [k, v] of r.irqs) irqs.set(k, (irqs.get(k) ?? 0) + v / runs.length);
    for (const [k, v] of irqs) if (v >= 0.5) kinds.add(k);
    means.set(label, { voluntary: runs.reduce((a, r) => a + r.voluntary, 0) / runs.length, involuntary: runs.reduce((a, r) => a + r.involuntary, 0) / runs.length, irqs });
  }
  const order = [...kinds].sort();
  return [...means].map(([label, m]) => {
    // TLB shootdowns are function calls too (counted in CAL as well): once in the total.
    const total = [...m.irqs.values()].reduce((a, b) => a + b, 0) - (m.irqs.has('CAL') ? (m.irqs.get('TLB') ?? 0) : 0);
    // x86 counts TLB shootdowns among the function-call IPIs (CAL); the rest are calls like the one a
    // perf counter read from another CPU sends to the CPU that counts.
    const calls = m.irqs.has('CAL') && m.irqs.has('TLB') ? `; function calls besides TLB shootdowns (CAL − TLB) ${(m.irqs.get('CAL')! - m.irqs.get('TLB')!).toFixed(1)}` : '';
    return `${label.padEnd(22)} context switches ${m.voluntary.toFixed(1)} voluntary + ${m.involuntary.toFixed(1)} involuntary /s; interrupts ${total.toFixed(0)}/s: ${order.map((k) => `${k} ${(m.irqs.get(k) ?? 0).toFixed(1)}`).join(', ')}${calls}`;
  });
}
