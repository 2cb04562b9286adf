/**
 * A node's own CPU numbering. On real hardware every node has its own CPUs and a partition's `cpus`
 * are the node's CPU numbers. Nodes that share one machine (the testbed's network namespaces) would
 * then all put their partitions on the same CPUs, so such a node carries `cpus`: the machine's CPUs
 * it stands for, in order. The node's CPU k is then the k-th CPU of that list, and one experiment
 * file means the same on a cluster and on the testbed.
 */
import { formatCpuList, orderedCpuList, parseCpuRanges } from '../core/cpu-list.js';

/** The CPUs of a Linux cpu list in the order written, without repeats. @example orderedCpus('2-3,0') // [2, 3, 0] */
export function orderedCpus(list: string): number[] {
  const out: number[] = [];
  for (const [lo, hi] of parseCpuRanges(list)) for (let c = lo; c <= hi; c++) if (!out.includes(c)) out.push(c);
  return out;
}

/**
 * The machine's CPUs for a partition's `cpus` on a node whose `cpus` is `nodeCpus` (undefined: the
 * node's numbering is the machine's). @throws when the partition names a CPU the node does not have.
 * @example hostCpus('1,0', '0') // "1"
 */
export function hostCpus(nodeCpus: string | undefined, partitionCpus: string): string {
  if (nodeCpus === undefined) return partitionCpus;
  const share = orderedCpus(nodeCpus);
  const picked = orderedCpus(partitionCpus).map((k) => {
    const c = share[k];
    if (c === undefined) throw new Error(`cpus "${partitionCpus}" names the node's CPU ${k}, but the node has ${share.length} (cpus "${nodeCpus}": CPUs 0-${share.length - 1} of the node)`);
    return c;
  });
  return formatCpuList(picked);
}

/**
 * Shares of `machineCpus` for `nodes` nodes on one machine: every node gets all of them, rotated by
 * `max(1, floor(cpus / nodes))` per node, so the nodes' low-numbered CPUs are different machine CPUs
 * as far as there are enough (4 nodes on 2 CPUs: `0-1`, `1,0`, `0-1`, `1,0`).
 * @example rotatedShares([0, 1, 2, 3], 2) // ["0-3", "2-3,0-1"]
 */
export function rotatedShares(machineCpus: readonly number[], nodes: number): string[] {
  const n = machineCpus.length;
  const step = Math.max(1, Math.floor(n / nodes));
  return Array.from({ length: nodes }, (_, i) => orderedCpuList(machineCpus.map((_, k) => machineCpus[(k + i * step) % n]!)));
}
