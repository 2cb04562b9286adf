/** NUMA lists for partition drivers: Pisces and Palacios take one zone per allocation. */
import { expandCpuList } from '../../core/cpu-list.js';

/**
 * The single NUMA node of a partition's `numa` list, or undefined. Pisces and Palacios take one zone
 * per allocation. @throws when the list names more than one node.
 */
export function singleNumaNode(partition: string, driver: string, numa: string | undefined): number | undefined {
  if (numa === undefined || numa.trim() === '') return undefined;
  const nodes = expandCpuList(numa);
  if (nodes.length !== 1) throw new Error(`partition ${partition} (${driver}): numa "${numa}" names ${nodes.length} nodes; expected one NUMA node`);
  return nodes[0];
}
