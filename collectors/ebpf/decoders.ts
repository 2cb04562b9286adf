/**
 * Label decoders in ebpf_exporter's sense: each label's bytes of the map key go through a chain of
 * decoders (raw bytes first, strings after), e.g. `uint` then `cgroup` turns a cgroup id into its
 * path. A decoder may drop the whole label set (`regexp` without a match). Machine lookups
 * (kallsyms, partitions, the cgroup v2 tree) read injected paths, so tests use testdata/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DecoderConfig } from './metrics-config.js';

/** A value between decoders: the key's bytes, or the previous decoder's text. */
export type Decoded = Buffer | string;

export interface DecoderPaths {
  /** @default /proc/kallsyms */
  kallsyms: string;
  /** @default /proc/partitions */
  partitions: string;
  /** Mount point of the cgroup v2 hierarchy; null when there is none. @default found in /proc/self/mountinfo */
  cgroupRoot: string | null;
}

/** Reads a little-endian unsigned integer of 1 to 8 bytes, or a decimal string. */
export function toBigInt(v: Decoded): bigint {
  if (typeof v === 'string') return BigInt(v);
  let n = 0n;
  for (let i = Math.min(v.length, 8) - 1; i >= 0; i--) n = (n << 8n) | BigInt(v[i]!);
  return n;
}

/** Decodes label values; holds the caches of the machine lookups. */
export class Decoders {
  private ksyms: { addr: bigint; name: string }[] | null = null;
  private disks: Map<string, string> | null = null;
  private cgroups = new Map<bigint, string>();
  private cgroupsScanned = 0;
  /** Lookups that found nothing (a cgroup or disk unknown so far): a label decoded meanwhile may be found later. */
  misses = 0;

  constructor(private readonly paths: DecoderPaths) {}

  /** Runs a chain; null when a decoder drops the label set. */
  decode(bytes: Buffer, chain: DecoderConfig[]): string | null {
    let v: Decoded = bytes;
    for (const d of chain) {
      const out = this.one(v, d);
      if (out === null) return null;
      v = out;
    }
    return typeof v === 'string' ? v : v.toString('hex');
  }

  private one(v: Decoded, d: DecoderConfig): string | null {
    switch (d.name) {
      case 'uint':
        return toBigInt(v).toString();
      case 'hex':
        return typeof v === 'string' ? Buffer.from(v).toString('hex') : v.toString('hex');
      case 'string': {
        const s = typeof v === 'string' ? v : v.toString('utf8');
        const nul = s.indexOf('\0');
        return nul < 0 ? s : s.slice(0, nul);
      }
      case 'static_map': {
        const key = typeof v === 'string' ? v : toBigInt(v).toString();
        const hit = d.static_map![key];
        if (hit !== undefined) return hit;
        return d.allow_unknown ? key : `unknown:${key}`;
      }
      case 'regexp': {
        const s = typeof v === 'string' ? v : v.toString('utf8');
        return d.regexps!.some((r) => new RegExp(r).test(s)) ? s : null;
      }
      case 'ksym':
        return this.ksym(toBigInt(v));
      case 'majorminor':
        return this.disk(Number(toBigInt(typeof v === 'string' ? v : v.subarray(0, 4))));
      case 'cgroup':
        return this.cgroup(toBigInt(v));
    }
  }

  /** The kernel symbol at or below addr, from kallsyms; hex address when unknown. */
  private ksym(addr: bigint): string {
    this.ksyms ??= readFileSync(this.paths.kallsyms, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 3 && f[0] !== undefined)
      .map((f) => ({ addr: BigInt(`0x${f[0]}`), name: f[2]! }))
      .filter((s) => s.addr !== 0n)
      .sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    let lo = 0;
    let hi = this.ksyms.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ksyms[mid]!.addr <= addr) (best = mid), (lo = mid + 1);
      else hi = mid - 1;
    }
    return best < 0 ? `0x${addr.toString(16)}` : this.ksyms[best]!.name;
  }

  /** Device name of a kernel-encoded dev_t (major << 20 | minor), from /proc/partitions. */
  private disk(dev: number): string {
    const major = dev >>> 20;
    const minor = dev & 0xfffff;
    const key = `${major}:${minor}`;
    let name = this.disks?.get(key);
    if (name === undefined) {
      this.disks = new Map();
      for (const line of readFileSync(this.paths.partitions, 'utf8').split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length === 4 && /^\d+$/.test(f[0]!)) this.disks.set(`${f[0]}:${f[1]}`, f[3]!);
      }
      name = this.disks.get(key);
    }
    if (name === undefined) this.misses++;
    return name ?? `unknown:${key}`;
  }

  /** Path of a cgroup v2 id (its directory's inode) below the hierarchy's root, e.g. `/isoscope/p1`. */
  private cgroup(id: bigint): string {
    const hit = this.cgroups.get(id);
    if (hit !== undefined) return hit;
    const now = Date.now();
    if (this.paths.cgroupRoot !== null && now - this.cgroupsScanned > 1000) {
      this.cgroupsScanned = now;
      this.cgroups = scanCgroups(this.paths.cgroupRoot);
      const found = this.cgroups.get(id);
      if (found !== undefined) return found;
    }
    this.misses++;
    return `unknown_cgroup_id:${id}`;
  }
}

/** Every cgroup below `root` by id (its directory's inode), as its path below the root. */
export function scanCgroups(root: string): Map<bigint, string> {
  const out = new Map<bigint, string>();
  const walk = (dir: string, rel: string) => {
    try {
      out.set(statSync(dir, { bigint: true }).ino, rel === '' ? '/' : rel);
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name), `${rel}/${e.name}`);
    } catch {
      // a cgroup removed while walking
    }
  };
  walk(root, '');
  return out;
}

/** Mount point of the cgroup v2 hierarchy, from a mountinfo file; null when none is mounted. */
export function findCgroup2Root(mountinfo = '/proc/self/mountinfo'): string | null {
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] === 'cgroup2') return left!.split(' ')[4] ?? null;
  }
  return null;
}
