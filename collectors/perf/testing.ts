/** Helpers shared by the perf source's tests. */
import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) a process has used, from /proc/<pid>/stat in 10 ms ticks: the kernel's
 * own account to hold a counted task-clock against, whatever share of a CPU the process got.
 */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
