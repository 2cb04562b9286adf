/**
 * Inventory of memory: the node's total and huge page setup from <proc>/meminfo, and each NUMA
 * node's CPUs, memory and distances to the other nodes, from <sys>/devices/system/node. A kernel
 * without NUMA support has no such directory: no nodes.
 */
import { formatCpuList, expandCpuList } from '../../core/cpu-list.js';
import { parseMeminfo } from '../procfs/parse-meminfo.js';
import { listDir, numbered, readText } from './read-text.js';

export interface NumaNodeInventory {
  node: number;
  /** CPUs of the node, kernel list form ("" for a memory-only node). */
  cpus: string;
  memTotalBytes: number | null;
  /** SLIT distance to each node, in node order (10 = local). */
  distances: number[];
}

export interface MemoryInventory {
  totalBytes: number | null;
  hugePageBytes: number | null;
  /** Huge pages of the default size reserved (HugePages_Total). */
  hugePages: number | null;
}

/** Reads the node-wide memory under a procfs root. */
export async function readMemory(proc: string): Promise<MemoryInventory> {
  const values = parseMeminfo((await readText(`${proc}/meminfo`)) ?? '').values;
  return { totalBytes: values.get('MemTotal') ?? null, hugePageBytes: values.get('Hugepagesize') ?? null, hugePages: values.get('HugePages_Total') ?? null };
}

/** Reads the NUMA nodes under a sysfs root. */
export async function readNuma(sys: string): Promise<NumaNodeInventory[]> {
  const base = `${sys}/devices/system/node`;
  const out: NumaNodeInventory[] = [];
  for (const node of numbered(await listDir(base), 'node')) {
    const dir = `${base}/node${node}`;
    const cpus = await readText(`${dir}/cpulist`);
    const meminfo = await readText(`${dir}/meminfo`);
    const distance = await readText(`${dir}/distance`);
    out.push({
      node,
      cpus: cpus === null ? '' : formatCpuList(expandCpuList(cpus)),
      memTotalBytes: meminfo === null ? null : (parseMeminfo(meminfo).values.get('MemTotal') ?? null),
      distances: distance === null ? [] : distance.split(/\s+/).map(Number).filter(Number.isFinite),
    });
  }
  return out;
}
