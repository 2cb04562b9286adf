/** CPU lists for partition drivers: expand `2-3,8` to [2, 3, 8] and back, NUMA lists to one node. */
import { parseCpuList } from '../../ingest/cpu-list.js';

/** Expanded, sorted, de-duplicated CPU numbers of a Linux cpu list. @example expandCpus('4-5,2') // [2, 4, 5] */
export function expandCpus(list: string): number[] {
  const out = new Set<number>();
  for (const [lo, hi] of parseCpuList(list)) for (let c = lo; c <= hi; c++) out.add(c);
  return [...out].sort((a, b) => a - b);
}

/** The shortest Linux cpu list for a set of CPUs. @example formatCpus([2, 3, 4, 8]) // "2-4,8" */
export function formatCpus(cpus: readonly number[]): string {
  return orderedList([...new Set(cpus)].sort((a, b) => a - b));
}

/** A cpu list keeping the order given: ascending runs become ranges. @example orderedList([2, 3, 0, 1]) // "2-3,0-1" */
export function orderedList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The single NUMA node of a partition's `numa` list, or undefined. Pisces and Palacios take one zone
 * per allocation. @throws when the list names more than one node.
 */
export function singleNumaNode(partition: string, driver: string, numa: string | undefined): number | undefined {
  if (numa === undefined || numa.trim() === '') return undefined;
  const nodes = expandCpus(numa);
  if (nodes.length !== 1) throw new Error(`partition ${partition} (${driver}): numa "${numa}" names ${nodes.length} nodes; expected one NUMA node`);
  return nodes[0];
}
