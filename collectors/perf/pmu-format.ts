/**
 * The sysfs description of a PMU's event encoding (Documentation/ABI/testing/sysfs-bus-event_source-devices-format):
 * each file /sys/bus/event_source/devices/<pmu>/format/<term> says which bits of config, config1
 * or config2 the term occupies ("config:0-7", "config:0-7,32-35", "config1:0-63"). Pure: turns
 * `cpu/event=0x3c,umask=0x00/` terms into the config words, given those descriptions.
 */
import type { PmuTerm } from './events.js';

export type ConfigWord = 'config' | 'config1' | 'config2';

export interface TermFormat {
  word: ConfigWord;
  /** Inclusive bit ranges, low bits of the value first. */
  ranges: [lo: number, hi: number][];
}

/**
 * Parses the text of one format file.
 * @throws Error when it is not "config[12]:<bits>".
 * @example parseTermFormat('config:0-7,32-35') // { word: 'config', ranges: [[0, 7], [32, 35]] }
 */
export function parseTermFormat(text: string): TermFormat {
  const m = /^(config|config1|config2):([\d,\s-]+)$/.exec(text.trim());
  if (!m) throw new Error(`PMU format "${text.trim()}": expected config, config1 or config2 followed by bit ranges, e.g. "config:0-7"`);
  const ranges = m[2]!.split(',').map((r): [number, number] => {
    const [lo, hi] = r.trim().split('-').map(Number);
    const range: [number, number] = [lo!, hi ?? lo!];
    if (!(range[0] >= 0 && range[1] >= range[0] && range[1] < 64)) throw new Error(`PMU format "${text.trim()}": bit range "${r}" is not within 0-63`);
    return range;
  });
  return { word: m[1] as ConfigWord, ranges };
}

/**
 * Places each term's value into its bits. A term without a value means 1 (as perf does for flags
 * like `edge`).
 * @param pmu PMU name, for error messages.
 * @throws Error naming the term when the PMU has no such format or the value does not fit.
 */
export function encodeTerms(pmu: string, terms: readonly PmuTerm[], formats: ReadonlyMap<string, TermFormat>): Record<ConfigWord, bigint> {
  const out: Record<ConfigWord, bigint> = { config: 0n, config1: 0n, config2: 0n };
  for (const { term, value = 1n } of terms) {
    const format = formats.get(term);
    if (!format) throw new Error(`PMU ${pmu} has no format term "${term}"; it knows: ${[...formats.keys()].sort().join(', ') || 'none'}`);
    let rest = value;
    for (const [lo, hi] of format.ranges) {
      const width = BigInt(hi - lo + 1);
      out[format.word] |= (rest & ((1n << width) - 1n)) << BigInt(lo);
      rest >>= width;
    }
    if (rest !== 0n) throw new Error(`PMU ${pmu}: value 0x${value.toString(16)} of term "${term}" does not fit its ${format.ranges.reduce((a, [lo, hi]) => a + hi - lo + 1, 0)} bits`);
  }
  return out;
}

/**
 * Parses an event alias file (/sys/bus/event_source/devices/<pmu>/events/<name>), e.g.
 * "event=0x3c,umask=0x00" or "event=0x00", into terms.
 */
export function parseAlias(text: string): PmuTerm[] {
  return text
    .trim()
    .split(',')
    .filter((p) => p.trim() !== '')
    .map((part) => {
      const [term, value] = part.split('=').map((s) => s.trim());
      if (!term || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(term) || (value !== undefined && !/^(0x[0-9a-fA-F]+|\d+)$/.test(value))) {
        throw new Error(`PMU event alias "${text.trim()}": "${part}" is not term=value`);
      }
      return value === undefined ? { term } : { term, value: BigInt(value) };
    });
}
