/**
 * The collector's meminfo reader (/proc/meminfo and the per-NUMA-node files): picks the few keys it
 * reports out of the bytes of a reading, without a string per line. A line's key is recognised by
 * its bytes; the line number where each key was found last time is tried first, so a steady file
 * costs one byte comparison per wanted line. Values in kB come back in bytes, unit-less values
 * (HugePages_*) as they are, as `parseMeminfo()` (the reference, parse-meminfo.ts) gives them.
 */
import { HUGEPAGE_METRICS, MEMINFO_METRICS } from './parse-meminfo.js';

const NL = 10;
const SPACE = 32;
const COLON = 58;

/** The keys the procfs source reports, then Hugepagesize (which converts the huge page counts). */
export const WANTED_KEYS = [...MEMINFO_METRICS.map(([k]) => k), ...HUGEPAGE_METRICS.map(([k]) => k), 'Hugepagesize'];

export class MeminfoFields {
  /** Value per wanted key (NaN: not in the file). */
  readonly values: Float64Array;
  /** NUMA node of a node file ("Node <N> " lines), else -1. */
  node = -1;
  private readonly keys: Buffer[];
  private readonly byLength = new Map<number, number[]>();
  /** Wanted key found at each line last time (-1: none). */
  private lineKey = new Int16Array(64).fill(-1);

  constructor(readonly wanted: readonly string[] = WANTED_KEYS) {
    this.values = new Float64Array(wanted.length);
    this.keys = wanted.map((k) => Buffer.from(k, 'latin1'));
    this.keys.forEach((k, i) => this.byLength.set(k.length, [...(this.byLength.get(k.length) ?? []), i]));
  }

  /** Parses one reading into `values`. */
  parse(buf: Buffer, length: number): void {
    this.values.fill(Number.NaN);
    this.node = -1;
    let line = 0;
    for (let p = 0; p < length; line++) {
      let end = buf.indexOf(NL, p);
      if (end < 0 || end > length) end = length;
      this.parseLine(buf, p, end, line);
      p = end + 1;
    }
  }

  private parseLine(buf: Buffer, p: number, end: number, line: number): void {
    while (p < end && buf[p] === SPACE) p++;
    // "Node 0 MemTotal: …" in the per-node files
    if (buf[p] === 0x4e && buf[p + 1] === 0x6f && buf[p + 2] === 0x64 && buf[p + 3] === 0x65 && buf[p + 4] === SPACE) {
      let q = p + 5;
      while (q < end && buf[q] === SPACE) q++;
      let n = 0;
      let digits = 0;
      for (; q < end && buf[q]! >= 0x30 && buf[q]! <= 0x39; q++, digits++) n = n * 10 + buf[q]! - 0x30;
      if (digits > 0 && buf[q] === SPACE) {
        if (this.node < 0) this.node = n;
        while (q < end && buf[q] === SPACE) q++;
        p = q;
      }
    }
    const colon = buf.indexOf(COLON, p);
    if (colon < 0 || colon >= end) return;
    const slot = this.keyAt(buf, p, colon - p, line);
    if (slot < 0) return;
    let q = colon + 1;
    while (q < end && buf[q] === SPACE) q++;
    let v = 0;
    let digits = 0;
    for (; q < end && buf[q]! >= 0x30 && buf[q]! <= 0x39; q++, digits++) v = v * 10 + buf[q]! - 0x30;
    if (digits === 0) return;
    while (q < end && buf[q] === SPACE) q++;
    if (q === end) this.values[slot] = v;
    else if (q + 2 === end && buf[q] === 0x6b && buf[q + 1] === 0x42) this.values[slot] = v * 1024; // "kB"
    // anything else after the number: not a meminfo line (the reference skips it too)
  }

  /** Which wanted key the bytes [p, p + len) are, or -1. */
  private keyAt(buf: Buffer, p: number, len: number, line: number): number {
    if (line >= this.lineKey.length) {
      const grown = new Int16Array(this.lineKey.length * 2).fill(-1);
      grown.set(this.lineKey);
      this.lineKey = grown;
    }
    const guess = this.lineKey[line]!;
    if (guess >= 0 && this.keys[guess]!.length === len && same(buf, p, this.keys[guess]!)) return guess;
    for (const i of this.byLength.get(len) ?? []) {
      if (same(buf, p, this.keys[i]!)) return (this.lineKey[line] = i);
    }
    this.lineKey[line] = -1;
    return -1;
  }
}

function same(buf: Buffer, at: number, key: Buffer): boolean {
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key[i]) return false;
  return true;
}
