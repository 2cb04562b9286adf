/**
 * hpcc's hpccoutf.txt: the `Begin of Summary section.` … `End of Summary section.` key=value block
 * that hpcc 1.5 writes at the end. Metrics: `hpl` (HPL_Tflops × 1000 → GFLOP/s), `stream-triad`
 * (SingleSTREAM_Triad, GB/s), `star-stream-triad`, `randomaccess` (SingleRandomAccess_GUPs, GUP/s),
 * `mpi-randomaccess` (MPIRandomAccess_GUPs), `dgemm` (SingleDGEMM_Gflops), `star-dgemm`.
 */
import type { FigureOfMerit } from './registry.js';

const METRICS: Record<string, { key: string; unit: string; scale: number }> = {
  hpl: { key: 'HPL_Tflops', unit: 'GFLOP/s', scale: 1000 },
  'stream-triad': { key: 'SingleSTREAM_Triad', unit: 'GB/s', scale: 1 },
  'star-stream-triad': { key: 'StarSTREAM_Triad', unit: 'GB/s', scale: 1 },
  randomaccess: { key: 'SingleRandomAccess_GUPs', unit: 'GUP/s', scale: 1 },
  'mpi-randomaccess': { key: 'MPIRandomAccess_GUPs', unit: 'GUP/s', scale: 1 },
  dgemm: { key: 'SingleDGEMM_Gflops', unit: 'GFLOP/s', scale: 1 },
  'star-dgemm': { key: 'StarDGEMM_Gflops', unit: 'GFLOP/s', scale: 1 },
};

export const HPCC_METRICS = Object.keys(METRICS);

/** The summary section as numbers (non-numeric values are left out). */
export function hpccSummary(text: string): Record<string, number> {
  const begin = text.indexOf('Begin of Summary section.');
  const end = text.indexOf('End of Summary section.', begin);
  if (begin < 0 || end < 0) throw new Error('hpcc output has no complete "Begin of Summary section." … "End of Summary section." block (did hpcc finish? it writes hpccoutf.txt in its working directory)');
  const out: Record<string, number> = {};
  for (const line of text.slice(begin, end).split('\n')) {
    const m = /^([A-Za-z0-9_]+)=(\S+)\s*$/.exec(line);
    if (m && m[2] !== undefined && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(m[2])) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export function parseHpcc(text: string, metric = 'stream-triad'): FigureOfMerit {
  const m = METRICS[metric];
  if (!m) throw new Error(`hpcc metric "${metric}" is unknown: expected one of ${HPCC_METRICS.join(', ')}`);
  const summary = hpccSummary(text);
  if (summary.Success !== undefined && summary.Success !== 1) throw new Error(`hpcc reports Success=${summary.Success}: a test failed its verification`);
  const raw = summary[m.key];
  if (raw === undefined) throw new Error(`hpcc summary has no ${m.key} (for metric ${metric})`);
  const figures: Record<string, number> = {};
  const units: Record<string, string> = {};
  for (const [name, def] of Object.entries(METRICS)) {
    if (summary[def.key] === undefined) continue;
    figures[name] = summary[def.key]! * def.scale;
    units[name] = def.unit;
  }
  return { value: raw * m.scale, unit: m.unit, figures, units };
}
