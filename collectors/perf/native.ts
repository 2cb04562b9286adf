/**
 * The one place the perf source touches native code: perf_event_open(2), ioctl(2) and mount(2)
 * through koffi's libc binding. Everything else works on Buffers and numbers, so it is testable
 * without the kernel. Where koffi, libc or the syscall number is missing, `loadPerfNative()`
 * returns why instead of an adapter ("not available here").
 */
import { closeSync, readSync } from 'node:fs';
import { loadLibc } from '../../core/libc.js';
import { PERF_IOC } from './attr.js';

/** perf_event_open syscall numbers; Node's arch names. */
const SYS_PERF_EVENT_OPEN: Partial<Record<NodeJS.Architecture, number>> = { x64: 298, arm64: 241 };

export interface PerfNative {
  /** perf_event_open(attr, pid, cpu, group_fd, flags): the new fd, or -errno. */
  open(attr: Buffer, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** The id the kernel gives the event in PERF_FORMAT_ID reads. @throws Error when the ioctl fails. */
  eventId(fd: number): bigint;
  /** ioctl(fd, request, arg) with an integer argument: 0, or -errno. */
  ioctl(fd: number, request: number, arg: number): number;
  /** read(2) into buf: bytes read (0 when the event is gone: its task exited or CPU went offline). */
  read(fd: number, buf: Buffer): number;
  close(fd: number): void;
  /** mount(2) a pseudo file system: 0, or -errno. */
  mount(source: string, target: string, fstype: string): number;
}

export type NativeResult = { ok: true; native: PerfNative } | { ok: false; reason: string };

let cached: NativeResult | null = null;

/** Loads the adapter once per process; later calls return the same result. */
export function loadPerfNative(): NativeResult {
  cached ??= load();
  return cached;
}

function load(): NativeResult {
  if (process.platform !== 'linux') return { ok: false, reason: `perf_event_open exists only on Linux; this is ${process.platform}` };
  const nr = SYS_PERF_EVENT_OPEN[process.arch];
  if (nr === undefined) return { ok: false, reason: `the perf_event_open syscall number for ${process.arch} is not known here (supported: x64, arm64)` };
  const loaded = loadLibc();
  if (!loaded.ok) return loaded;
  const { koffi, libc } = loaded;
  const syscall = libc.func('long syscall(long number, ...)');
  const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
  const mount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)');
  const idBuf = Buffer.alloc(8);
  const fail = (r: number): number => (r < 0 ? -koffi.errno() : r);
  const native: PerfNative = {
    open: (attr, pid, cpu, groupFd, flags) =>
      fail(Number(syscall(nr, 'void *', attr, 'int', pid, 'int', cpu, 'int', groupFd, 'unsigned long', flags))),
    eventId(fd) {
      const r = fail(ioctl(fd, PERF_IOC.id, 'void *', idBuf) as number);
      if (r < 0) throw new Error(`ioctl(PERF_EVENT_IOC_ID) on perf fd ${fd} failed with errno ${-r}`);
      return idBuf.readBigUInt64LE(0);
    },
    ioctl: (fd, request, arg) => fail(ioctl(fd, request, 'unsigned long', arg) as number),
    read: (fd, buf) => readSync(fd, buf, 0, buf.length, null),
    close: (fd) => closeSync(fd),
    mount: (source, target, fstype) => fail(mount(source, target, fstype, 0, null) as number),
  };
  return { ok: true, native };
}
