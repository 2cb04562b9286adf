/**
 * stress-ng with `--metrics-brief`: the `metrc:` table line of the stressor, whose fifth number is
 * bogo ops/s (real time); `metric` selects a stressor (default: the first one).
 */
import type { FigureOfMerit } from './registry.js';

export function parseStressNg(text: string, stressor?: string): FigureOfMerit {
  const rows = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /stress-ng: (?:metrc|info):\s+\[\d+\]\s+([a-z][a-z0-9-]*)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)(\s+[\d.]+)?\s*$/.exec(line);
    if (m && !rows.has(m[1]!)) rows.set(m[1]!, Number(m[6]));
  }
  if (rows.size === 0) throw new Error('no stress-ng metrics line (run it with --metrics-brief; expected "stress-ng: metrc: [pid] <stressor> <bogo ops> <real> <usr> <sys> <bogo ops/s>")');
  const name = stressor ?? [...rows.keys()][0]!;
  const value = rows.get(name);
  if (value === undefined) throw new Error(`stress-ng output has no metrics for stressor "${name}" (it has ${[...rows.keys()].join(', ')})`);
  return { value, unit: 'bogo-ops/s', figures: Object.fromEntries(rows), units: Object.fromEntries([...rows.keys()].map((k) => [k, 'bogo-ops/s'])) };
}
