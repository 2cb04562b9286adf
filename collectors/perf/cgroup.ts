/**
 * Which cgroup directory a per-cgroup perf scope means. perf counts per cgroup only in the
 * hierarchy that holds the perf_event controller: a cgroup v1 hierarchy mounted with perf_event,
 * or else the cgroup v2 hierarchy (on hybrid systems often /sys/fs/cgroup/unified). Paths in the
 * config are absolute directories, or relative to that hierarchy's mount. Pure, given mountinfo.
 */
import { isAbsolute, join, relative } from 'node:path';

export interface CgroupMount {
  mountpoint: string;
  /** Path of the mount's root within the hierarchy (usually "/"; a sub-cgroup inside containers). */
  root: string;
  version: 1 | 2;
  /** v1 controllers of the hierarchy (from the super options); empty for v2. */
  controllers: string[];
}

/** The cgroup mounts listed in /proc/self/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const head = line.slice(0, dash).split(' ');
    const [fstype, , superOptions = ''] = line.slice(dash + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({
      root: unescape(head[3] ?? '/'),
      mountpoint: unescape(head[4] ?? ''),
      version: fstype === 'cgroup2' ? 2 : 1,
      controllers: fstype === 'cgroup' ? superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('=')) : [],
    });
  }
  return out;
}

/** The mount of the hierarchy perf counts cgroups in, or null when there is none. */
export function perfEventMount(mounts: readonly CgroupMount[]): CgroupMount | null {
  return mounts.find((m) => m.version === 1 && m.controllers.includes('perf_event')) ?? mounts.find((m) => m.version === 2) ?? null;
}

export interface ResolvedCgroup {
  /** Directory to open and pass to perf_event_open. */
  dir: string;
  /** Path within the hierarchy, as /proc/<pid>/cgroup shows it: the `cgroup` label of its samples. */
  label: string;
}

/**
 * Resolves a configured cgroup path.
 * @throws Error when there is no perf_event hierarchy, or an absolute path lies in another hierarchy.
 * @example resolveCgroup('isoscope/p1', mounts) // { dir: '/sys/fs/cgroup/unified/isoscope/p1', label: '/isoscope/p1' }
 */
export function resolveCgroup(path: string, mounts: readonly CgroupMount[]): ResolvedCgroup {
  const perf = perfEventMount(mounts);
  if (!perf) throw new Error(`cgroup ${path}: no cgroup hierarchy with the perf_event controller is mounted (neither a v1 perf_event hierarchy nor cgroup2)`);
  const dir = isAbsolute(path) ? path : join(perf.mountpoint, path);
  const owner = [...mounts].filter((m) => dir === m.mountpoint || dir.startsWith(`${m.mountpoint}/`)).sort((a, b) => b.mountpoint.length - a.mountpoint.length)[0];
  if (owner !== perf) {
    const where = owner ? `the ${owner.version === 2 ? 'cgroup v2' : (owner.controllers.join(',') || 'named')} hierarchy at ${owner.mountpoint}` : 'no cgroup file system';
    throw new Error(`cgroup ${path}: ${dir} is in ${where}; perf counts per cgroup only in the hierarchy holding perf_event, mounted at ${perf.mountpoint}`);
  }
  return { dir, label: join(perf.root, '/', relative(perf.mountpoint, dir)) };
}
