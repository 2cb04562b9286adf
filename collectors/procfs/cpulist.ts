/**
 * Parser of the kernel's CPU/node list format ("0-3,8,10-11"), used throughout sysfs
 * (cpu/online, node<N>/cpulist, cache shared_cpu_list, topology *_list files). Shared by the perf,
 * inventory and procfs readers so they agree on what a list means.
 */

/**
 * Expands a kernel list into sorted, distinct numbers. An empty string is an empty list.
 * @throws Error naming the text when it is not in the list format.
 * @example parseCpuList('0-2,5') // [0, 1, 2, 5]
 */
export function parseCpuList(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const out = new Set<number>();
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`CPU list "${trimmed}": "${part}" is not a number or a range like 0-3`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`CPU list "${trimmed}": range ${part} runs backwards`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Compresses numbers back into the kernel's list form.
 * @example formatCpuList([0, 1, 2, 5]) // "0-2,5"
 */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
