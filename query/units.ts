/**
 * Units of metrics as the collectors name them, and of the figures of merit the catalog parsers
 * report, so compare and the report can label every number. Unknown names have no unit (null)
 * rather than a guess.
 */

const METRIC_UNITS: [RegExp, string][] = [
  [/^cpu\.(user|nice|system|idle|iowait|irq|softirq|steal|guest|guest_nice)$/, 's'],
  [/^(task-clock|cpu-clock)$/, 'ns'],
  [/^(instructions|cycles|ref-cycles|bus-cycles|stalled-cycles-(frontend|backend))$/, 'count'],
  [/(-misses|-loads|-stores|-references|-prefetches)$/, 'count'],
  [/^(context-switches|cs|cpu-migrations|migrations|page-faults|faults|minor-faults|major-faults|alignment-faults|emulation-faults|context_switches|irq\.count)$/, 'count'],
  [/^[a-z_]+:[a-z_0-9]+$/, 'count'], // tracepoints
  [/_seconds(_sum|_total)?$/, 's'],
  [/_nanoseconds(_total)?$/, 'ns'],
  [/_bytes(_total)?$/, 'bytes'],
  [/_total$/, 'count'],
  [/^procs_(running|blocked)$/, 'tasks'],
  [/^(mem|memory|numa|hugepages)\./, 'bytes'],
];

/** The unit of a collected metric, or null when this table does not know it. */
export function metricUnit(metric: string): string | null {
  for (const [re, unit] of METRIC_UNITS) if (re.test(metric)) return unit;
  return null;
}

/** Units of the figures the shipped parsers report, for runs recorded before `config.figure_units`. */
const FIGURE_UNITS: Record<string, string> = {
  hpl: 'GFLOP/s',
  'stream-triad': 'GB/s',
  'star-stream-triad': 'GB/s',
  randomaccess: 'GUP/s',
  'mpi-randomaccess': 'GUP/s',
  dgemm: 'GFLOP/s',
  'star-dgemm': 'GFLOP/s',
};

export function knownFigureUnit(figure: string): string | null {
  return FIGURE_UNITS[figure] ?? null;
}

/** Time units: for these a lower result is better. */
export const TIME_UNITS = /^(s|sec|secs|seconds?|ms|us|µs|ns|min|minutes?|h|hours?)$/i;
