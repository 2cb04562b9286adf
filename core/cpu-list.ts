/**
 * Linux cpu lists (`0-3,8`): cpuset.cpus, /sys/devices/system/cpu/online, node<N>/cpulist, cache
 * shared_cpu_list, partition `cpus:` in experiment files. One parser for the whole project, so that
 * collectors, ingest and the orchestrator agree on what a list means and say the same thing when it
 * is wrong.
 */

/** Highest CPU number accepted (Linux NR_CPUS tops out at 8192; this leaves room). */
export const MAX_CPU = 65_535;

/** Inclusive CPU ranges, e.g. `0-3,8` → [[0, 3], [8, 8]]. */
export type CpuRanges = readonly (readonly [number, number])[];

/**
 * Parses a cpu list into its ranges, in the order written. The empty string (a destroyed partition
 * owns nothing) gives no ranges.
 * @throws Error saying which part was wrong and what was expected.
 * @example parseCpuRanges('0-3,8') // [[0, 3], [8, 8]]
 */
export function parseCpuRanges(list: string): CpuRanges {
  const text = list.trim();
  if (text === '') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`cpu list "${text}" has a malformed part "${part}"; expected numbers and ranges like 0-3,8`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`cpu list "${text}" has a descending range "${part}"; expected low-high`);
    if (hi > MAX_CPU) throw new Error(`cpu list "${text}" names CPU ${hi}; expected CPU numbers up to ${MAX_CPU}`);
    return [lo, hi] as const;
  });
}

/** Whether `cpu` falls in one of the ranges. */
export function cpuInRanges(ranges: CpuRanges, cpu: number): boolean {
  return ranges.some(([lo, hi]) => cpu >= lo && cpu <= hi);
}

/**
 * Expands a cpu list into sorted, distinct CPU numbers. An empty string is an empty list.
 * @throws as {@link parseCpuRanges}.
 * @example expandCpuList('4-5,2,2') // [2, 4, 5]
 */
export function expandCpuList(list: string): number[] {
  const out = new Set<number>();
  for (const [lo, hi] of parseCpuRanges(list)) for (let c = lo; c <= hi; c++) out.add(c);
  return [...out].sort((a, b) => a - b);
}

/** The shortest cpu list for a set of CPUs. @example formatCpuList([8, 2, 3, 4]) // "2-4,8" */
export function formatCpuList(cpus: readonly number[]): string {
  return orderedCpuList([...new Set(cpus)].sort((a, b) => a - b));
}

/**
 * A cpu list keeping the order given (a node's CPU share lists its preferred CPUs first): ascending
 * runs become ranges. @example orderedCpuList([2, 3, 0, 1]) // "2-3,0-1"
 */
export function orderedCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
