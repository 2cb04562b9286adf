/**
 * Finds the node's cpuset hierarchy from its /proc/mounts: a cgroup v1 mount with the `cpuset`
 * option, else a cgroup2 mount whose cgroup.controllers lists `cpuset`. Pure parsing plus one check.
 */
import type { NodeTransport } from '../../transport/transport.js';
import { parseCgroupMounts, perfEventMount } from '../../../collectors/perf/cgroup.js';

export interface CpusetHierarchy {
  version: 1 | 2;
  mount: string;
}

/** cgroup mounts from /proc/mounts text: v1 mounts carrying `cpuset`, and every cgroup2 mount. */
export function cgroupMounts(procMounts: string): { v1Cpuset: string[]; v2: string[] } {
  const v1Cpuset: string[] = [];
  const v2: string[] = [];
  for (const line of procMounts.split('\n')) {
    const [, mount, type, opts] = line.split(' ');
    if (!mount || !type) continue;
    const path = mount.replace(/\\040/g, ' ');
    if (type === 'cgroup' && (opts ?? '').split(',').includes('cpuset')) v1Cpuset.push(path);
    if (type === 'cgroup2') v2.push(path);
  }
  return { v1Cpuset, v2 };
}

/**
 * The hierarchy to use on a node. `prefer` picks v1 or v2 when both are usable (tests use it).
 * @throws naming the node when no hierarchy has the cpuset controller.
 */
export async function detectHierarchy(node: NodeTransport, prefer?: 1 | 2): Promise<CpusetHierarchy> {
  const mounts = await node.exec(['cat', '/proc/mounts']);
  if (mounts.code !== 0) throw new Error(`node ${node.node}: cannot read /proc/mounts: ${mounts.stderr.trim()}`);
  const { v1Cpuset, v2 } = cgroupMounts(mounts.stdout);
  const v2Cpuset: string[] = [];
  for (const m of v2) {
    const c = await node.exec(['cat', `${m}/cgroup.controllers`]);
    if (c.code === 0 && c.stdout.split(/\s+/).includes('cpuset')) v2Cpuset.push(m);
  }
  const v1 = v1Cpuset[0];
  const v2m = v2Cpuset[0];
  if (prefer === 2 && v2m) return { version: 2, mount: v2m };
  if (prefer === 1 && v1) return { version: 1, mount: v1 };
  if (prefer) throw new Error(`node ${node.node}: no cgroup v${prefer} hierarchy with the cpuset controller (v1 cpuset mounts: ${v1Cpuset.join(', ') || 'none'}; cgroup2 mounts with cpuset: ${v2Cpuset.join(', ') || 'none'})`);
  if (v1) return { version: 1, mount: v1 };
  if (v2m) return { version: 2, mount: v2m };
  throw new Error(`node ${node.node}: no cpuset cgroup found: expected a cgroup v1 mount with the cpuset option or a cgroup2 mount whose cgroup.controllers lists cpuset (cgroup2 mounts: ${v2.join(', ') || 'none'})`);
}

/**
 * The directory perf counts cgroups in on the node: a cgroup v1 mount with perf_event, else the
 * cgroup2 mount (perf_event is implicit there). null when neither is mounted.
 */
export async function detectPerfMount(node: NodeTransport): Promise<string | null> {
  const r = await node.exec(['cat', '/proc/self/mountinfo']);
  if (r.code !== 0) throw new Error(`node ${node.node}: cannot read /proc/self/mountinfo: ${r.stderr.trim()}`);
  return perfEventMount(parseCgroupMounts(r.stdout))?.mountpoint ?? null;
}
