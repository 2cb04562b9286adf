/**
 * Which samples a rule watches and which series each belongs to: the metric and scope filters,
 * and the series key made of the scope's `by` dimensions.
 */
import type { Sample } from '../../schema/records.js';
import { LABEL_COLUMNS, type Rule, type SeriesDimension } from './schema.js';

/** The fields of a sample a rule looks at (run and partition as tagged by the evaluator). */
export type SampleView = Pick<Sample, 'ts' | 'node' | 'metric' | 'value' | 'cpu' | 'source' | 'collector'> & Partial<Pick<Sample, 'partition' | 'run' | 'cgroup' | 'comm' | 'irq' | 'device' | 'le'>>;

export function matches(rule: Rule, s: SampleView): boolean {
  if (s.metric !== rule.metric) return false;
  const sc = rule.scope;
  if (sc.node && !sc.node.includes(s.node)) return false;
  if (sc.cpu && !sc.cpu.includes(s.cpu)) return false;
  if (sc.source && !sc.source.includes(s.source)) return false;
  if (sc.partition && (s.partition == null || !sc.partition.includes(s.partition))) return false;
  if (sc.inRun && s.run == null) return false;
  if (sc.run && (s.run == null || !sc.run.includes(s.run))) return false;
  if (sc.labels) {
    for (const col of LABEL_COLUMNS) {
      const re = sc.labels[col];
      if (re && (s[col] == null || !re.test(s[col]))) return false;
    }
  }
  return true;
}

/** The series dimensions of a sample under a rule: only those in `by` with a value. */
export function seriesLabels(rule: Rule, s: SampleView): Partial<Record<SeriesDimension, string>> {
  const out: Partial<Record<SeriesDimension, string>> = {};
  for (const dim of rule.scope.by) {
    const v = s[dim];
    if (v == null) continue;
    out[dim] = String(v);
  }
  return out;
}

/** Stable text key of series labels (sorted by dimension name). */
export function seriesKey(labels: Partial<Record<SeriesDimension, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k as SeriesDimension]}`).join(',');
}

/** Combines the values of one series at one ts. */
export function aggregate(kind: Rule['scope']['aggregate'], values: readonly number[]): number {
  switch (kind) {
    case 'sum': return values.reduce((a, b) => a + b, 0);
    case 'avg': return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min': return Math.min(...values);
    case 'max': return Math.max(...values);
    case 'count': return values.length;
  }
}
