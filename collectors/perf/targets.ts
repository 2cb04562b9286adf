/**
 * The configured scope as perf_event_open targets: system-wide on each CPU (pid -1, cpu N), each
 * cgroup on each CPU (the cgroup directory's fd with PERF_FLAG_PID_CGROUP; perf requires a CPU for
 * cgroup events), or each process on any CPU (pid N, cpu -1).
 */
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expandCpuList } from '../../core/cpu-list.js';
import { PERF_FLAG } from './attr.js';
import { parseCgroupMounts, resolveCgroup } from './cgroup.js';
import type { PerfConfig } from './config.js';
import type { CounterTarget } from './group.js';

export interface Targets {
  targets: CounterTarget[];
  /** Closes the cgroup directory fds; call once the events are open (the kernel keeps its own reference). */
  release(): void;
}

/** The online CPUs listed in <sysfs>/devices/system/cpu/online. */
export async function onlineCpus(sysfs: string): Promise<number[]> {
  const path = `${sysfs}/devices/system/cpu/online`;
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`could not read the online CPUs from ${path} (${err.code ?? err.message})`);
  });
  try {
    return expandCpuList(text);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/**
 * Expands the scope of `config` into targets.
 * @throws Error when a cgroup or process does not exist, or a configured CPU is not online.
 */
export async function expandScope(config: PerfConfig): Promise<Targets> {
  const scope = config.scope;
  if (scope.kind === 'pid') {
    const targets: CounterTarget[] = [];
    for (const pid of scope.pids) {
      const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => {
        throw new Error(`perf scope pid ${pid}: no such process (/proc/${pid}/comm does not exist)`);
      });
      targets.push({ pid, cpu: -1, flags: 0, labels: { cpu: -1, comm: `${comm.trim()}/${pid}` } });
    }
    return { targets, release: () => undefined };
  }
  const online = await onlineCpus(config.sysfs);
  const cpus = scope.cpus ?? online;
  const offline = cpus.filter((c) => !online.includes(c));
  if (offline.length > 0) throw new Error(`perf scope: CPU ${offline.join(', ')} is not online (online: ${online.join(',')})`);
  if (scope.kind === 'cpu') return { targets: cpus.map((cpu) => ({ pid: -1, cpu, flags: 0, labels: { cpu } })), release: () => undefined };

  const mounts = parseCgroupMounts(await readFile(config.mountinfo, 'utf8'));
  const fds: number[] = [];
  const release = () => fds.splice(0).forEach((fd) => closeSync(fd));
  const targets: CounterTarget[] = [];
  try {
    for (const path of scope.paths) {
      const cg = resolveCgroup(path, mounts);
      let fd: number;
      try {
        fd = openSync(cg.dir, 'r');
      } catch (err) {
        throw new Error(`perf scope cgroup ${path}: could not open ${cg.dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      fds.push(fd);
      for (const cpu of cpus) targets.push({ pid: fd, cpu, flags: PERF_FLAG.pidCgroup, labels: { cpu, cgroup: cg.label } });
    }
  } catch (err) {
    release();
    throw err;
  }
  return { targets, release };
}
