/**
 * Inventory of the CPUs: model, and the topology a reader needs to interpret per-CPU numbers and
 * isolation (sockets, cores, SMT siblings, which CPUs share each cache), from
 * <sys>/devices/system/cpu and <proc>/cpuinfo.
 */
import { formatCpuList, expandCpuList } from '../../core/cpu-list.js';
import { listDir, numbered, readInt, readText } from './read-text.js';

export interface CacheInventory {
  level: number;
  /** Data, Instruction or Unified. */
  type: string;
  sizeBytes: number | null;
  lineBytes: number | null;
  /** How many separate caches of this kind there are, each shared by the CPUs of one list. */
  instances: number;
  /** CPU list of each instance, e.g. ["0-7,16-23", "8-15,24-31"] for one L3 per socket. */
  shared: string[];
}

export interface CpuInventory {
  vendor: string | null;
  model: string | null;
  /** Online logical CPUs, kernel list form. */
  online: string;
  /** CPUs taken out of the scheduler with isolcpus=, kernel list form ("" when none). */
  isolated: string | null;
  logical: number;
  sockets: number;
  cores: number;
  threadsPerCore: number;
  /** The kernel's SMT switch: on, off, forceoff, notsupported … (null on kernels without it). */
  smtControl: string | null;
  packages: { id: number; cpus: string; cores: number }[];
  /** Thread sibling lists of cores with more than one thread, e.g. ["0,16", "1,17"]. */
  smtSiblings: string[];
  caches: CacheInventory[];
}

/** Reads the CPU inventory under a sysfs root and a procfs root. */
export async function readCpus(sys: string, proc: string): Promise<CpuInventory> {
  const base = `${sys}/devices/system/cpu`;
  const onlineText = await readText(`${base}/online`);
  const online = onlineText !== null ? expandCpuList(onlineText) : numbered(await listDir(base), 'cpu');
  const packages = new Map<number, { cpus: number[]; cores: Set<string> }>();
  const siblings = new Set<string>();
  const caches = new Map<string, { level: number; type: string; sizeBytes: number | null; lineBytes: number | null; shared: Set<string> }>();
  for (const cpu of online) {
    const dir = `${base}/cpu${cpu}`;
    const pkg = (await readInt(`${dir}/topology/physical_package_id`)) ?? 0;
    const core = (await readInt(`${dir}/topology/core_id`)) ?? cpu;
    const die = (await readInt(`${dir}/topology/die_id`)) ?? 0;
    const entry = packages.get(pkg) ?? { cpus: [], cores: new Set<string>() };
    entry.cpus.push(cpu);
    entry.cores.add(`${die}/${core}`);
    packages.set(pkg, entry);
    const sib = await readText(`${dir}/topology/thread_siblings_list`);
    if (sib !== null && expandCpuList(sib).length > 1) siblings.add(formatCpuList(expandCpuList(sib)));
    for (const index of await listDir(`${dir}/cache`)) {
      if (!/^index\d+$/.test(index)) continue;
      const c = `${dir}/cache/${index}`;
      const level = await readInt(`${c}/level`);
      const type = await readText(`${c}/type`);
      if (level === null || type === null) continue;
      const sizeBytes = parseSize(await readText(`${c}/size`));
      const lineBytes = await readInt(`${c}/coherency_line_size`);
      const key = `${level}/${type}/${sizeBytes}/${lineBytes}`;
      const entry = caches.get(key) ?? { level, type, sizeBytes, lineBytes, shared: new Set<string>() };
      const shared = await readText(`${c}/shared_cpu_list`);
      entry.shared.add(shared === null ? String(cpu) : formatCpuList(expandCpuList(shared)));
      caches.set(key, entry);
    }
  }
  const info = parseCpuinfo((await readText(`${proc}/cpuinfo`)) ?? '');
  const pkgList = [...packages.entries()].sort(([a], [b]) => a - b).map(([id, p]) => ({ id, cpus: formatCpuList(p.cpus), cores: p.cores.size }));
  const cores = pkgList.reduce((a, p) => a + p.cores, 0);
  const byCpuList = (a: string, b: string) => expandCpuList(a)[0]! - expandCpuList(b)[0]!;
  return {
    vendor: info.vendor,
    model: info.model,
    online: formatCpuList(online),
    isolated: await readText(`${base}/isolated`),
    logical: online.length,
    sockets: pkgList.length,
    cores,
    threadsPerCore: cores === 0 ? 0 : Math.round(online.length / cores),
    smtControl: await readText(`${base}/smt/control`),
    packages: pkgList,
    smtSiblings: [...siblings].sort(byCpuList),
    caches: [...caches.values()]
      .sort((a, b) => a.level - b.level || a.type.localeCompare(b.type))
      .map((c) => ({ level: c.level, type: c.type, sizeBytes: c.sizeBytes, lineBytes: c.lineBytes, instances: c.shared.size, shared: [...c.shared].sort(byCpuList) })),
  };
}

/** "32K" → 32768, "1M" → 1048576, "512" → 512; null when unreadable. */
export function parseSize(text: string | null): number | null {
  const m = /^(\d+)\s*([KMG]?)$/i.exec(text ?? '');
  if (!m) return null;
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!.toUpperCase()]!;
}

/** Vendor and model of the first processor in /proc/cpuinfo (x86 and arm64 spellings). */
export function parseCpuinfo(text: string): { vendor: string | null; model: string | null } {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim() ?? null;
  return { vendor: field('vendor_id') ?? field('CPU implementer'), model: field('model name') ?? field('Hardware') ?? field('CPU part') };
}
