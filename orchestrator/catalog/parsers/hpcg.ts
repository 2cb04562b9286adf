/**
 * HPCG's report: HPCG 3.1 writes `Final Summary::HPCG result is VALID with a GFLOP/s rating of=X`
 * into HPCG-Benchmark_3.1_<date>.txt; 3.0's YAML writes `HPCG result is VALID with a GFLOP/s rating
 * of: X`. An INVALID result is refused.
 */
import type { FigureOfMerit } from './registry.js';

export function parseHpcg(text: string): FigureOfMerit {
  const m = /HPCG result is VALID with a GFLOP\/s rating of\s*[=:]\s*([0-9.eE+-]+)/.exec(text);
  if (m) return { value: Number(m[1]), unit: 'GFLOP/s' };
  if (/HPCG result is\s*[=:]?\s*INVALID/i.test(text)) throw new Error('HPCG reports its result INVALID (see the report\'s "Final Summary")');
  throw new Error('no "HPCG result is VALID with a GFLOP/s rating of" line in the HPCG report');
}
