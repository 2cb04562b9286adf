/**
 * Opening the events of one target (a CPU, a cgroup on a CPU, or a process) as a perf group, so
 * one read(2) of the leader returns every count with the same time_enabled/time_running. The first
 * event that opens becomes the leader (an unsupported first event passes leadership on). An event
 * the kernel refuses as a member with EINVAL (PMUs that cannot share a group) gets a group of its
 * own; an event refused outright is a failure the caller reports.
 */
import { readFileSync } from 'node:fs';
import { encodeAttr, PERF_FLAG, PERF_IOC } from './attr.js';
import type { PerfNative } from './native.js';
import { groupReadSize, type ScaledDelta } from './read-format.js';
import type { ResolvedAttr } from './resolve.js';

/** Where a group counts: perf_event_open's pid/cpu/flags and the labels of its samples. */
export interface CounterTarget {
  /** -1 (all tasks), a pid, or a cgroup directory fd (with PERF_FLAG.pidCgroup). */
  pid: number;
  /** A CPU, or -1 (wherever the task runs). */
  cpu: number;
  flags: number;
  labels: { cpu: number; cgroup?: string; comm?: string };
}

/** An event to open: its position in the configured list, and its attr. */
export interface EventToOpen {
  index: number;
  attr: ResolvedAttr;
}

export interface OpenFailure {
  index: number;
  errno: number;
}

const EINVAL = 22;

/** One opened group: its leader fd, its members by id, and the previous reading. */
export class CounterGroup {
  private readonly buf: Buffer;
  /** Count per position in the previous read (read order is fixed: leader, then members as added). */
  private prevCounts: Float64Array;
  private prevEnabled = 0;
  private prevRunning = 0;
  private hasPrevious = false;
  /** Event index per position in a read, once learnt from the ids of the first read. */
  private indexAt: Int32Array | null = null;
  /** The scaled counts of the last `readDeltas()`, by position: `deltaIndex[i]` is the event index of `deltas[i]`, -1 when unknown. */
  readonly deltas: Float64Array;
  readonly deltaIndex: Int32Array;
  /** running/enabled over the interval of the last `readDeltas()`. */
  scale = 1;
  /** Event index per kernel event id. */
  readonly members = new Map<bigint, number>();
  readonly fds: number[] = [];

  constructor(readonly target: CounterTarget, readonly leaderFd: number, private readonly native: PerfNative, maxMembers: number) {
    this.buf = Buffer.alloc(groupReadSize(maxMembers));
    this.prevCounts = new Float64Array(maxMembers);
    this.deltas = new Float64Array(maxMembers);
    this.deltaIndex = new Int32Array(maxMembers);
  }

  add(fd: number, index: number): void {
    this.fds.push(fd);
    this.members.set(this.native.eventId(fd), index);
  }

  /**
   * True when the group's task exited: its last read holds the final counts. Asked of /proc, not of
   * poll(2): the kernel reports POLLHUP for every perf event without a ring buffer, exited task or not.
   */
  get finished(): boolean {
    return this.target.pid > 0 && this.target.cpu === -1 && taskExited(this.target.pid);
  }

  /**
   * Reads the group into the preallocated `deltas`/`deltaIndex`/`scale` (the hot path: one read(2)
   * into a reused buffer, no BigInt, no Map, nothing allocated). Counts are u64 but read as doubles:
   * exact up to 2^53, i.e. 104 days of a 1 GHz counter since the group was opened.
   * @returns how many deltas were written: 0 on the first read (the baseline), -1 when the group is
   *   gone (its CPU went offline). A counter that went backwards gets index -1 (left out).
   */
  readDeltas(): number {
    const n = this.native.read(this.leaderFd, this.buf);
    return this.decodeDeltas(this.buf, 0, n);
  }

  /** The size of one group read: what the native sampler reads of the leader at each tick. */
  get readSize(): number {
    return this.buf.length;
  }

  /**
   * `readDeltas()` for bytes read elsewhere (the native sampler): `n` bytes of a group read at `at`
   * in `b` (0: the group is gone). Same result, same state kept for the next delta.
   */
  decodeDeltas(b: Buffer, at: number, n: number): number {
    if (n === 0) return -1;
    if (n < 0) throw new Error(`perf group read failed with errno ${-n}`);
    if (n < 24) throw new Error(`perf group read returned ${n} bytes; expected at least 24 (nr, time_enabled, time_running)`);
    const nr = u64(b, at);
    if (n !== groupReadSize(nr) || nr > this.deltas.length) throw new Error(`perf group read of ${nr} events returned ${n} bytes; expected ${groupReadSize(nr)}`);
    if (this.indexAt === null || this.indexAt.length !== nr) {
      this.indexAt = new Int32Array(nr);
      for (let i = 0; i < nr; i++) this.indexAt[i] = this.members.get(b.readBigUInt64LE(at + 32 + 16 * i)) ?? -1;
    }
    const enabled = u64(b, at + 8);
    const running = u64(b, at + 16);
    const first = !this.hasPrevious;
    const dEnabled = enabled - this.prevEnabled;
    const dRunning = running - this.prevRunning;
    // As scaleDelta(): never scheduled (both 0) or never multiplexed: exact; never on the PMU: 0, scale 0.
    const scale = dEnabled <= 0 || dRunning >= dEnabled ? 1 : dRunning <= 0 ? 0 : dRunning / dEnabled;
    for (let i = 0; i < nr; i++) {
      const v = u64(b, at + 24 + 16 * i);
      const raw = v - this.prevCounts[i]!;
      this.prevCounts[i] = v;
      this.deltaIndex[i] = raw < 0 ? -1 : this.indexAt[i]!;
      this.deltas[i] = scale === 1 ? raw : scale === 0 ? 0 : raw / scale;
    }
    this.scale = scale;
    this.prevEnabled = enabled;
    this.prevRunning = running;
    this.hasPrevious = true;
    return first ? 0 : nr;
  }

  /**
   * Reads the group and returns the scaled delta per event index since the previous read (none on
   * the first), or null when the group is gone (its CPU went offline). The object form of `readDeltas()`.
   */
  read(): Map<number, ScaledDelta> | null {
    const n = this.readDeltas();
    if (n < 0) return null;
    const out = new Map<number, ScaledDelta>();
    for (let i = 0; i < n; i++) if (this.deltaIndex[i]! >= 0) out.set(this.deltaIndex[i]!, { value: this.deltas[i]!, scale: this.scale });
    return out;
  }

  close(): void {
    for (const fd of this.fds.reverse()) this.native.close(fd);
    this.fds.length = 0;
  }
}

/**
 * Opens `events` on `target` as few groups as the kernel allows, and enables them.
 * @returns the groups (possibly none) and the events that could not be opened, with errno.
 */
export function openGroups(native: PerfNative, target: CounterTarget, events: readonly EventToOpen[]): { groups: CounterGroup[]; failures: OpenFailure[] } {
  const groups: CounterGroup[] = [];
  const failures: OpenFailure[] = [];
  const flags = target.flags | PERF_FLAG.fdCloexec;
  for (const ev of events) {
    let errno = 0;
    for (const g of groups) {
      const fd = native.open(encodeAttr({ ...ev.attr, disabled: false }), target.pid, target.cpu, g.leaderFd, flags);
      if (fd >= 0) {
        g.add(fd, ev.index);
        errno = 0;
        break;
      }
      errno = -fd;
      if (errno !== EINVAL) break;
    }
    if (groups.length > 0 && errno === 0) continue; // joined a group
    if (errno !== 0 && errno !== EINVAL) {
      failures.push({ index: ev.index, errno });
      continue;
    }
    const fd = native.open(encodeAttr({ ...ev.attr, disabled: true }), target.pid, target.cpu, -1, flags);
    if (fd < 0) {
      failures.push({ index: ev.index, errno: -fd });
      continue;
    }
    const group = new CounterGroup(target, fd, native, events.length);
    group.add(fd, ev.index);
    groups.push(group);
  }
  for (const g of groups) {
    const r = native.ioctl(g.leaderFd, PERF_IOC.enable, PERF_IOC.flagGroup);
    if (r < 0) {
      for (const x of groups) x.close();
      throw new Error(`enabling a perf group on cpu ${target.cpu} (pid ${target.pid}) failed with errno ${-r}`);
    }
  }
  return { groups, failures };
}

/** True when `pid` is gone or a zombie (its counters can no longer change). */
export function taskExited(pid: number, proc = '/proc'): boolean {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** A u64 at `at` as a double (exact below 2^53), without BigInt. */
function u64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x1_0000_0000;
}
