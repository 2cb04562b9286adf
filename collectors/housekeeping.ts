/**
 * Housekeeping CPUs: keeps every thread of the collector process (Node's main thread, the native
 * sampler thread, libuv's and V8's threads) on chosen CPUs while it still measures every CPU. This is
 * what isolation testbeds do with their own daemons (a "housekeeping core", as with the kernel's
 * isolcpus/nohz_full): the observer's wake-ups, its reads and its garbage collection then run beside
 * the experiment, not on its CPUs.
 *
 * sched_setaffinity(2) applies to one thread, so every thread listed in /proc/self/task is moved;
 * threads started later inherit the mask of the thread that starts them, which is then already
 * moved. What stays on the measured CPUs is the in-kernel part: perf counting, BPF programs on
 * context switches, and the interrupt a counter read sends to the CPU it counts on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { expandCpuList, formatCpuList, parseCpuRanges } from '../core/cpu-list.js';
import { ConfigError } from '../config/errors.js';
import { loadLibc } from '../core/libc.js';

/** A Linux cpu list (`1`, `0,2-3`); a YAML number (`1`) is taken as that one CPU. */
export const housekeepingCpusSchema = z.preprocess(
  (v) => (typeof v === 'number' ? String(v) : v),
  z
    .string()
    .regex(/^\s*\d+\s*(-\s*\d+\s*)?(,\s*\d+\s*(-\s*\d+\s*)?)*$/, 'expected a Linux cpu list like "1" or "0,2-3"')
    .refine((s) => {
      try {
        return parseCpuRanges(s).length > 0;
      } catch {
        return false;
      }
    }, 'expected ascending ranges of CPU numbers up to 65535, like "1" or "0,2-3"'),
);

/** One thread moved: its id, its name (comm) and the CPUs the kernel reports for it afterwards. */
export interface PinnedThread {
  tid: number;
  name: string;
  cpus: string;
}

/** The CPUs a thread may run on, as the kernel reports them (Cpus_allowed_list of its status). */
export function threadCpus(tid: number, pid: number | 'self' = 'self'): string {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  const m = /^Cpus_allowed_list:\s*(\S*)$/m.exec(status);
  if (!m) throw new Error(`/proc/${pid}/task/${tid}/status has no Cpus_allowed_list`);
  return m[1]!;
}

/** The threads of this process now. */
export function threadIds(): number[] {
  return readdirSync('/proc/self/task').map(Number).filter((n) => Number.isInteger(n));
}

type SetAffinity = (tid: number, size: number, mask: Buffer) => number;
let setAffinity: { call: SetAffinity; errno: () => number } | null = null;

function loadSetAffinity(): { call: SetAffinity; errno: () => number } {
  if (setAffinity) return setAffinity;
  if (process.platform !== 'linux') throw new ConfigError(`collector.housekeepingCpus: CPU affinity is set with sched_setaffinity(2), which exists only on Linux; this is ${process.platform}`);
  const loaded = loadLibc();
  if (!loaded.ok) throw new ConfigError(`collector.housekeepingCpus: cannot set CPU affinity here: ${loaded.reason}`);
  const { koffi, libc } = loaded;
  const fn = libc.func('int sched_setaffinity(int pid, size_t cpusetsize, const void *mask)');
  setAffinity = { call: (tid, size, mask) => fn(tid, size, mask) as number, errno: () => koffi.errno() };
  return setAffinity;
}

/**
 * The CPUs of a housekeeping list checked against this machine: each must be online.
 * @param what where the list came from, for the message (a config path or an option)
 * @throws ConfigError naming the CPUs that are not there, and what is
 */
export function checkHousekeepingCpus(list: string, what = 'collector.housekeepingCpus', onlineFile = '/sys/devices/system/cpu/online'): number[] {
  let cpus: number[];
  try {
    cpus = expandCpuList(list);
  } catch (err) {
    throw new ConfigError(`${what}: ${(err as Error).message}`);
  }
  if (cpus.length === 0) throw new ConfigError(`${what}: the list "${list}" names no CPU; expected a Linux cpu list like "1" or "0,2-3"`);
  const online = readFileSync(onlineFile, 'utf8').trim();
  const have = new Set(expandCpuList(online));
  const missing = cpus.filter((c) => !have.has(c));
  if (missing.length > 0) throw new ConfigError(`${what}: CPU ${formatCpuList(missing)} ${missing.length === 1 ? 'does' : 'do'} not exist or ${missing.length === 1 ? 'is' : 'are'} offline on this machine (online CPUs: ${online})`);
  return cpus;
}

/**
 * Moves every thread of this process onto `cpus` (a Linux cpu list) and checks that the kernel
 * reports exactly those CPUs for each. Repeats until a pass finds no thread it had not moved, so a
 * thread started meanwhile by one not yet moved is caught too.
 * @throws ConfigError for a CPU that is not online, or one the process may not use (its cpuset)
 */
export function pinProcessThreads(list: string, what = 'collector.housekeepingCpus'): PinnedThread[] {
  const cpus = checkHousekeepingCpus(list, what);
  const want = formatCpuList(cpus);
  const { call, errno } = loadSetAffinity();
  // cpu_set_t: one bit per CPU in 64-bit words; at least glibc's 1024 bits.
  const mask = Buffer.alloc(Math.max(128, Math.ceil((Math.max(...cpus) + 1) / 64) * 8));
  for (const c of cpus) mask.writeUInt8(mask.readUInt8(c >> 3) | (1 << (c & 7)), c >> 3);
  const moved = new Map<number, PinnedThread>();
  for (let pass = 0; pass < 20; pass++) {
    const fresh = threadIds().filter((t) => !moved.has(t));
    if (fresh.length === 0) break;
    for (const tid of fresh) {
      if (call(tid, mask.length, mask) !== 0) {
        const e = errno();
        if (e === 3) continue; // ESRCH: the thread ended meanwhile
        if (e === 22) throw new ConfigError(`${what}: the kernel refused CPU ${want} for this process (EINVAL): they are outside the CPUs its cgroup's cpuset allows (${threadCpus(tid)})`);
        throw new ConfigError(`${what}: sched_setaffinity on thread ${tid} failed with errno ${e}`);
      }
      let name = '?';
      let got: string;
      try {
        name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
        got = threadCpus(tid);
      } catch {
        continue; // the thread ended meanwhile
      }
      if (formatCpuList(expandCpuList(got)) !== want) throw new ConfigError(`${what}: thread ${tid} (${name}) may run on CPU ${got} after asking for ${want}: the process' cpuset allows only part of the list`);
      moved.set(tid, { tid, name, cpus: got });
    }
  }
  return [...moved.values()];
}
