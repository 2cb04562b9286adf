/**
 * Which measurement facilities this node offers, probed the way the collectors use them: a
 * hardware counter (perf_event_open of cycles on this process), tracepoints (a readable tracefs,
 * or one root can mount) and BPF (loading a trivial program). A reader uses it to know why a
 * node has no perf or ebpf samples.
 */
import { readFile } from 'node:fs/promises';
import { encodeAttr, PERF_FLAG, PERF_TYPE } from '../perf/attr.js';
import { describeOpenError, errnoName } from '../perf/errno.js';
import { loadPerfNative } from '../perf/native.js';
import { isTracefs, TRACEFS_CANDIDATES } from '../perf/tracefs.js';
import { probeBpfLoad } from './bpf-probe.js';

export interface Capability {
  available: boolean;
  /** One sentence: where, or why not. */
  detail: string;
}

export interface Capabilities {
  hardwareCounters: Capability;
  tracepoints: Capability;
  bpf: Capability;
}

/** Probes the three facilities on this machine. */
export async function probeCapabilities(proc = '/proc'): Promise<Capabilities> {
  return { hardwareCounters: probeHardwareCounters(), tracepoints: await probeTracepoints(proc), bpf: await probeBpf(proc) };
}

function probeHardwareCounters(): Capability {
  const r = loadPerfNative();
  if (!r.ok) return { available: false, detail: r.reason };
  const fd = r.native.open(encodeAttr({ type: PERF_TYPE.hardware, config: 0n, disabled: true }), 0, -1, -1, PERF_FLAG.fdCloexec);
  if (fd < 0) return { available: false, detail: describeOpenError({ kind: 'hardware', name: 'cycles' }, -fd) };
  r.native.close(fd);
  return { available: true, detail: 'cycles can be counted (perf_event_open of a hardware event succeeded)' };
}

async function probeTracepoints(proc: string): Promise<Capability> {
  for (const dir of TRACEFS_CANDIDATES) if (await isTracefs(dir)) return { available: true, detail: `tracefs is mounted at ${dir}` };
  const filesystems = await readFile(`${proc}/filesystems`, 'utf8').catch(() => '');
  if (!/\btracefs\b/.test(filesystems)) return { available: false, detail: 'the kernel has no tracefs (not in /proc/filesystems)' };
  if (process.getuid?.() === 0) return { available: true, detail: 'tracefs is not mounted; the perf source mounts it at /sys/kernel/tracing (it runs as root)' };
  return { available: false, detail: 'tracefs is not mounted and mounting it needs root' };
}

async function probeBpf(proc: string): Promise<Capability> {
  const r = probeBpfLoad();
  if (r.loaded) return { available: true, detail: 'a BPF program can be loaded (BPF_PROG_LOAD succeeded)' };
  if ('reason' in r) return { available: false, detail: r.reason };
  const unprivileged = (await readFile(`${proc}/sys/kernel/unprivileged_bpf_disabled`, 'utf8').catch(() => '')).trim();
  const why: Record<number, string> = {
    1: `not permitted (EPERM: needs root or CAP_BPF; unprivileged_bpf_disabled is ${unprivileged || 'unknown'})`,
    38: 'the kernel has no bpf(2) (ENOSYS: built without CONFIG_BPF_SYSCALL)',
  };
  return { available: false, detail: why[r.errno] ?? `BPF_PROG_LOAD failed (${errnoName(r.errno)})` };
}
