/**
 * koffi and the C library, loaded once for every caller that needs a libc function JavaScript does
 * not have (perf_event_open and ioctl, libbpf's helpers, pthread_sigmask, sched_setaffinity). A
 * machine without them gets the reason, which each caller words for its own feature.
 */
import { createRequire } from 'node:module';

export type Koffi = typeof import('koffi').default;
export type NativeLibrary = ReturnType<Koffi['load']>;
export type LibcResult = { ok: true; koffi: Koffi; libc: NativeLibrary } | { ok: false; reason: string };

let cached: LibcResult | null = null;

export function loadLibc(): LibcResult {
  if (cached) return cached;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    cached = { ok: true, koffi, libc: koffi.load('libc.so.6') };
  } catch (err) {
    cached = { ok: false, reason: `koffi or libc.so.6 could not be loaded (${(err as Error).message})` };
  }
  return cached;
}
