/** Linux cpu lists (`0-3,8`, as in cpuset.cpus and /sys/devices/system/cpu/online) as ranges. */

/** Highest CPU number accepted (Linux NR_CPUS tops out at 8192; this leaves room). */
export const MAX_CPU = 65_535;

/** Inclusive CPU ranges, e.g. `0-3,8` → [[0, 3], [8, 8]]. */
export type CpuRanges = readonly (readonly [number, number])[];

/**
 * Parses a Linux cpu list. The empty string (a destroyed partition owns nothing) gives no ranges.
 * @throws Error saying what was wrong when the list is malformed.
 * @example parseCpuList('0-3,8') // [[0, 3], [8, 8]]
 */
export function parseCpuList(list: string): CpuRanges {
  const text = list.trim();
  if (text === '') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`cpu list "${list}" has a malformed part "${part}"; expected numbers and ranges like 0-3,8`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`cpu list "${list}" has a descending range "${part}"; expected low-high`);
    if (hi > MAX_CPU) throw new Error(`cpu list "${list}" names CPU ${hi}; expected CPU numbers up to ${MAX_CPU}`);
    return [lo, hi] as const;
  });
}

/** Whether `cpu` falls in one of the ranges. */
export function cpuInRanges(ranges: CpuRanges, cpu: number): boolean {
  return ranges.some(([lo, hi]) => cpu >= lo && cpu <= hi);
}
