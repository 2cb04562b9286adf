/**
 * Parser of /proc/meminfo (proc(5)) and of the per-NUMA-node files
 * /sys/devices/system/node/node<N>/meminfo, which use the same lines prefixed with "Node <N> ".
 * Pure: text in, numbers out. Values given in kB come back in bytes; unit-less values (the
 * HugePages_* page counts) come back as they are. Unreadable lines are skipped and counted.
 */

export interface Meminfo {
  /** Key as written by the kernel (MemTotal, HugePages_Free …) → bytes, or a count for unit-less keys. */
  values: Map<string, number>;
  /** NUMA node the file belongs to, when its lines carry the "Node <N>" prefix. */
  node?: number;
  /** Lines that could not be read. */
  skipped: number;
}

const LINE = /^(?:Node\s+(\d+)\s+)?([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/;

/**
 * Reads a meminfo file.
 * @example parseMeminfo('MemTotal: 2048 kB\nHugePages_Total: 4\n').values // Map { MemTotal → 2097152, HugePages_Total → 4 }
 */
export function parseMeminfo(text: string): Meminfo {
  const out: Meminfo = { values: new Map(), skipped: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      out.skipped++;
      continue;
    }
    if (m[1] !== undefined) out.node ??= Number(m[1]);
    const n = Number(m[3]);
    out.values.set(m[2]!, m[4] === 'kB' ? n * 1024 : n);
  }
  return out;
}

/** meminfo keys reported as samples, and their metric names (all in bytes). */
export const MEMINFO_METRICS: readonly (readonly [key: string, metric: string])[] = [
  ['MemTotal', 'total'],
  ['MemFree', 'free'],
  ['MemAvailable', 'available'],
  ['MemUsed', 'used'], // node files only
  ['Buffers', 'buffers'],
  ['Cached', 'cached'],
  ['FilePages', 'file'], // node files only: page cache of the node
  ['Dirty', 'dirty'],
  ['Writeback', 'writeback'],
  ['AnonPages', 'anon'],
  ['Shmem', 'shmem'],
];

/** HugePages_* counts, converted to bytes with the huge page size. */
export const HUGEPAGE_METRICS: readonly (readonly [key: string, metric: string])[] = [
  ['HugePages_Total', 'hugepages_total'],
  ['HugePages_Free', 'hugepages_free'],
  ['HugePages_Rsvd', 'hugepages_rsvd'],
  ['HugePages_Surp', 'hugepages_surp'],
];

/**
 * The selected values of one meminfo file as `<prefix><name>` → bytes. Huge page counts are
 * multiplied by `hugePageBytes` (the Hugepagesize of /proc/meminfo; node files do not carry it).
 * Keys the file lacks are left out.
 */
export function meminfoBytes(info: Meminfo, prefix: string, hugePageBytes: number | undefined): [metric: string, bytes: number][] {
  const out: [string, number][] = [];
  for (const [key, metric] of MEMINFO_METRICS) {
    const v = info.values.get(key);
    if (v !== undefined) out.push([`${prefix}${metric}`, v]);
  }
  if (hugePageBytes !== undefined) {
    for (const [key, metric] of HUGEPAGE_METRICS) {
      const v = info.values.get(key);
      if (v !== undefined) out.push([`${prefix}${metric}`, v * hugePageBytes]);
    }
  }
  return out;
}
