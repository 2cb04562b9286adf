/**
 * The collector's /proc/stat reader: parses the bytes of a reading in place (no string, no split,
 * no objects per line) into two alternating arrays of tick counters, and gives the same deltas as
 * `statDeltas(parseProcStat(a), parseProcStat(b))` (parse-stat.ts and procfs.ts stay the reference,
 * and stat-counters.test.ts holds the two to each other). The long `intr` line is skipped after its
 * first number with one native indexOf.
 */
import { CPU_MODES } from './parse-stat.js';

const NL = 10;
const SPACE = 32;
const MODES = CPU_MODES.length;

/** Node-wide counters and gauges, in the order their samples are written. */
const SCALAR_KEYS = ['ctxt', 'intr', 'processes', 'procs_running', 'procs_blocked'].map((k) => Buffer.from(k, 'latin1'));
const COUNTER_METRICS = ['context_switches', 'interrupts', 'forks'] as const;
const GAUGE_METRICS = ['procs_running', 'procs_blocked'] as const;
export const CPU_METRICS = CPU_MODES.map((m) => `cpu.${m}`);

/** Called for each sample: metric name, value, CPU (-1 node-wide and for the `cpu` all-CPUs line). */
export type EmitSample = (metric: string, value: number, cpu: number) => void;

class Reading {
  /** Ticks per slot (cpu + 1) and mode. */
  ticks = new Float64Array(0);
  /** Columns read per slot; 0 = no line for that CPU. */
  cols = new Uint8Array(0);
  /** Slots in file order. */
  order: number[] = [];
  scalars = new Float64Array(SCALAR_KEYS.length).fill(Number.NaN);

  reset(): void {
    for (const slot of this.order) this.cols[slot] = 0;
    this.order.length = 0;
    this.scalars.fill(Number.NaN);
  }

  ensure(slot: number): void {
    if (slot < this.cols.length) return;
    const size = Math.max(slot + 1, this.cols.length * 2, 8);
    const ticks = new Float64Array(size * MODES);
    ticks.set(this.ticks);
    const cols = new Uint8Array(size);
    cols.set(this.cols);
    this.ticks = ticks;
    this.cols = cols;
  }
}

export class StatCounters {
  private previous = new Reading();
  private current = new Reading();
  private readings = 0;

  constructor(private readonly ticksPerSecond: number) {}

  /** CPU lines of the last reading (with the all-CPUs line). */
  get cpuLines(): number {
    return this.previous.order.length;
  }

  /**
   * Parses a reading and emits the deltas since the previous one (nothing for the first).
   * @returns the number of CPU lines read.
   */
  update(buf: Buffer, length: number, emit: EmitSample | null): number {
    const r = this.current;
    r.reset();
    let p = 0;
    while (p < length) {
      let end = buf.indexOf(NL, p);
      if (end < 0 || end > length) end = length;
      if (buf[p] === 0x63 && buf[p + 1] === 0x70 && buf[p + 2] === 0x75) this.cpuLine(buf, p + 3, end, r);
      else this.scalarLine(buf, p, end, r);
      p = end + 1;
    }
    const before = this.previous;
    this.previous = r;
    this.current = before;
    if (this.readings++ > 0 && emit) this.emit(before, r, emit);
    return r.order.length;
  }

  private cpuLine(buf: Buffer, p: number, end: number, r: Reading): void {
    let cpu = -1;
    if (buf[p] !== SPACE) {
      cpu = 0;
      let digits = 0;
      for (; p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39; p++, digits++) cpu = cpu * 10 + buf[p]! - 0x30;
      if (digits === 0 || buf[p] !== SPACE) return; // cpuX, cpu0x …: not a CPU line
    }
    const slot = cpu + 1;
    r.ensure(slot);
    const base = slot * MODES;
    let cols = 0;
    while (p < end) {
      while (p < end && buf[p] === SPACE) p++;
      if (p >= end) break;
      let v = 0;
      let digits = 0;
      for (; p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39; p++, digits++) v = v * 10 + buf[p]! - 0x30;
      if (digits === 0 || (p < end && buf[p] !== SPACE)) return; // not a number: the line is skipped
      if (cols < MODES) r.ticks[base + cols] = v;
      cols++;
    }
    if (cols < 4) return;
    if (r.cols[slot] === 0) r.order.push(slot);
    r.cols[slot] = Math.min(cols, MODES);
  }

  private scalarLine(buf: Buffer, p: number, end: number, r: Reading): void {
    let keyEnd = p;
    while (keyEnd < end && buf[keyEnd] !== SPACE) keyEnd++;
    for (let k = 0; k < SCALAR_KEYS.length; k++) {
      const key = SCALAR_KEYS[k]!;
      if (keyEnd - p !== key.length || !sameBytes(buf, p, key)) continue;
      let q = keyEnd;
      while (q < end && buf[q] === SPACE) q++;
      let v = 0;
      let digits = 0;
      for (; q < end && buf[q]! >= 0x30 && buf[q]! <= 0x39; q++, digits++) v = v * 10 + buf[q]! - 0x30;
      if (digits > 0 && (q === end || buf[q] === SPACE)) r.scalars[k] = v;
      return;
    }
  }

  private emit(before: Reading, after: Reading, emit: EmitSample): void {
    const tps = this.ticksPerSecond;
    for (const slot of after.order) {
      const oldCols = slot < before.cols.length ? before.cols[slot]! : 0;
      if (oldCols === 0) continue;
      const cols = after.cols[slot]!;
      const base = slot * MODES;
      for (let m = 0; m < cols; m++) {
        if (m >= oldCols) continue;
        const ticks = after.ticks[base + m]!;
        const prev = before.ticks[base + m]!;
        if (ticks < prev) continue; // went backwards: CPU unplugged and back
        emit(CPU_METRICS[m]!, (ticks - prev) / tps, slot - 1);
      }
    }
    for (let i = 0; i < COUNTER_METRICS.length; i++) {
      const a = before.scalars[i]!; // ctxt, intr, processes: the first three scalars
      const b = after.scalars[i]!;
      if (!Number.isNaN(a) && !Number.isNaN(b) && b >= a) emit(COUNTER_METRICS[i]!, b - a, -1);
    }
    for (let i = 0; i < GAUGE_METRICS.length; i++) {
      const v = after.scalars[3 + i]!;
      if (!Number.isNaN(v)) emit(GAUGE_METRICS[i]!, v, -1);
    }
  }
}

function sameBytes(buf: Buffer, at: number, key: Buffer): boolean {
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key[i]) return false;
  return true;
}
