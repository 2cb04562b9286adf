/**
 * The collector's /proc/interrupts reader. The file's layout (CPU columns, IRQ rows, their labels)
 * rarely changes, so it is learnt once with the reference parser (parse-interrupts.ts) and later
 * readings only check each row's id bytes and read its counts in place into an array: no strings,
 * no regular expressions, no objects per row. Any difference in layout (an IRQ registered, a CPU
 * going offline) takes the reference path for that reading and learns the new layout. The deltas
 * are those of `interruptDeltas()` (interrupts.ts), bounded the same way.
 */
import { interruptDeltas } from './interrupts.js';
import { parseInterrupts, type Interrupts } from './parse-interrupts.js';

const NL = 10;
const SPACE = 32;
const COLON = 58;

/** Called for each `irq.count` sample. */
export type EmitIrq = (value: number, cpu: number, irq: string) => void;

interface Layout {
  header: Buffer;
  cpus: number[];
  ids: Buffer[];
  idText: string[];
  labels: string[];
  /** Counts per row: cpus.length, or fewer for node-wide rows (ERR, MIS). */
  widths: number[];
}

export class InterruptCounters {
  private layout: Layout | null = null;
  private previous = new Float64Array(0);
  private current = new Float64Array(0);
  private changedValue = new Float64Array(0);
  private changedCpu = new Int32Array(0);
  private changedRow = new Int32Array(0);
  /** Readings that took the reference path (layout learnt or changed). */
  slowReadings = 0;

  constructor(private readonly maxSamples: number) {}

  /**
   * Reads one reading and emits the deltas since the previous one (none for the first).
   * @throws Error when the text is not /proc/interrupts (no CPU header).
   */
  update(buf: Buffer, length: number, emit: EmitIrq | null): void {
    const layout = this.layout;
    if (layout !== null && this.readCounts(buf, length, layout)) {
      if (emit) this.emitDeltas(layout, emit);
      [this.previous, this.current] = [this.current, this.previous];
      return;
    }
    this.slowReadings++;
    const now = parseInterrupts(buf.toString('utf8', 0, length));
    if (layout !== null && emit) for (const s of interruptDeltas(this.asInterrupts(layout), now, this.maxSamples)) emit(s.value, s.cpu!, s.irq!);
    this.learn(buf, length, now);
  }

  private learn(buf: Buffer, length: number, now: Interrupts): void {
    let headerEnd = buf.indexOf(NL);
    if (headerEnd < 0 || headerEnd > length) headerEnd = length;
    const n = now.cpus.length;
    this.layout = {
      header: Buffer.from(buf.subarray(0, headerEnd)),
      cpus: now.cpus,
      ids: now.rows.map((r) => Buffer.from(r.id, 'latin1')),
      idText: now.rows.map((r) => r.id),
      labels: now.rows.map((r) => r.label),
      widths: now.rows.map((r) => r.counts.length),
    };
    const size = now.rows.length * n;
    this.previous = new Float64Array(size);
    this.current = new Float64Array(size);
    this.changedValue = new Float64Array(size);
    this.changedCpu = new Int32Array(size);
    this.changedRow = new Int32Array(size);
    now.rows.forEach((r, i) => r.counts.forEach((c, j) => (this.previous[i * n + j] = c)));
  }

  /** The previous reading in the reference form, for the slow path. */
  private asInterrupts(layout: Layout): Interrupts {
    const n = layout.cpus.length;
    return {
      cpus: layout.cpus,
      rows: layout.idText.map((id, i) => ({ id, label: layout.labels[i]!, counts: Array.from(this.previous.subarray(i * n, i * n + layout.widths[i]!)) })),
      skipped: 0,
    };
  }

  /** Counts into `current` when the reading has the learnt layout; false (nothing kept) when not. */
  private readCounts(buf: Buffer, length: number, layout: Layout): boolean {
    const h = layout.header;
    if (length < h.length || buf[h.length] !== NL || buf.compare(h, 0, h.length, 0, h.length) !== 0) return false;
    const n = layout.cpus.length;
    let row = 0;
    let p = h.length + 1;
    while (p < length) {
      let end = buf.indexOf(NL, p);
      if (end < 0 || end > length) end = length;
      let q = p;
      while (q < end && buf[q] === SPACE) q++;
      if (q === end) {
        p = end + 1;
        continue; // blank line
      }
      if (row >= layout.ids.length) return false;
      const id = layout.ids[row]!;
      if (buf[q + id.length] !== COLON || !same(buf, q, id)) return false;
      q += id.length + 1;
      const width = layout.widths[row]!;
      const base = row * n;
      let got = 0;
      for (; got < n; got++) {
        while (q < end && buf[q] === SPACE) q++;
        let v = 0;
        let digits = 0;
        for (; q < end && buf[q]! >= 0x30 && buf[q]! <= 0x39; q++, digits++) v = v * 10 + buf[q]! - 0x30;
        if (digits === 0 || (q < end && buf[q] !== SPACE)) break; // the description starts here
        this.current[base + got] = v;
      }
      if (got !== width) return false;
      row++;
      p = end + 1;
    }
    return row === layout.ids.length;
  }

  private emitDeltas(layout: Layout, emit: EmitIrq): void {
    const n = layout.cpus.length;
    let changed = 0;
    for (let row = 0; row < layout.ids.length; row++) {
      const base = row * n;
      const width = layout.widths[row]!;
      if (width < n) {
        // node-wide row: the sum of its counts, on CPU -1
        let now = 0;
        let before = 0;
        for (let j = 0; j < width; j++) {
          now += this.current[base + j]!;
          before += this.previous[base + j]!;
        }
        if (now > before) this.change(changed++, now - before, -1, row);
        continue;
      }
      for (let j = 0; j < n; j++) {
        const now = this.current[base + j]!;
        const before = this.previous[base + j]!;
        if (now > before) this.change(changed++, now - before, layout.cpus[j]!, row);
      }
    }
    if (changed <= this.maxSamples) {
      for (let i = 0; i < changed; i++) emit(this.changedValue[i]!, this.changedCpu[i]!, layout.labels[this.changedRow[i]!]!);
      return;
    }
    // The busiest maxSamples pairs (a stable sort, as interruptDeltas), the rest summed per CPU as "other".
    const order = Array.from({ length: changed }, (_, i) => i).sort((a, b) => this.changedValue[b]! - this.changedValue[a]!);
    const other = new Map<number, number>();
    order.forEach((i, rank) => {
      if (rank < this.maxSamples) emit(this.changedValue[i]!, this.changedCpu[i]!, layout.labels[this.changedRow[i]!]!);
      else other.set(this.changedCpu[i]!, (other.get(this.changedCpu[i]!) ?? 0) + this.changedValue[i]!);
    });
    for (const [cpu, value] of other) emit(value, cpu, 'other');
  }

  private change(i: number, value: number, cpu: number, row: number): void {
    this.changedValue[i] = value;
    this.changedCpu[i] = cpu;
    this.changedRow[i] = row;
  }
}

function same(buf: Buffer, at: number, key: Buffer): boolean {
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key[i]) return false;
  return true;
}
