/**
 * The native sampler (sampler.c) seen from JavaScript: a thread that reads the sources' file
 * descriptors on every tick of the interval, off the event loop, and keeps each tick's bytes with
 * the time they were read until the agent drains them (once a second). The library is compiled on
 * first use with the system C compiler into collectors/sampler/build/ (like the eBPF objects) and
 * loaded through koffi; where that is not possible `loadSampler()` says why, and the agent samples
 * on its JS timer instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../ebpf/locate.js';

const run = promisify(execFile);

/** One file descriptor to read at every tick. */
export interface SamplerSlot {
  fd: number;
  /** pread(2) at offset 0 (procfs, whose seq_files regenerate on a read at 0) instead of read(2) (perf). */
  pread: boolean;
  /** Bytes read at most. */
  size: number;
  /** Read on every this many ticks only (the first tick always); the others give -ENODATA. @default 1 */
  every?: number;
  /**
   * The fd is this BPF map: the slot holds its deltas since the last read, as (u32 key index, u32 0,
   * u64 delta) per key that moved (bpf-deltas.c), `size` bytes at most (-ENOSPC beyond).
   */
  bpfMap?: NativeBpfMap;
}

/**
 * One BPF map's differencing state in C (bpf-deltas.c): every read sums each key's per-CPU values
 * and returns the keys that moved since the previous successful read, as 16-byte (u32 key index,
 * u32 0, u64 delta) entries. A key's index is fixed from when it is first seen; `keys()` gives the
 * bytes of keys from an index on. The state outlives sampler threads, so deltas continue across a
 * restart of the sampler and onto the JS timer.
 */
export interface NativeBpfMap {
  /** For the sampler's slot: the state's address. */
  readonly address: bigint;
  /** Reads the map now: the deltas' bytes written to `out` (an empty `out`: a baseline), or -errno. */
  read(out: Buffer): number;
  /** The same differencing on entries read elsewhere (n keys, then their values as the kernel packs them): bytes or -errno. */
  feed(keys: Buffer, values: Buffer, n: number, out: Buffer): number;
  /** Indices handed out so far (the next new key gets this one when no index was released). */
  count(): number;
  /** Keys in the state now (forgotten ones left out). */
  live(): number;
  /**
   * Deletes the keys at these indices from the BPF map and the state (cgroups that are gone): a key
   * seen again later counts from 0 under a new index. `keys` holds the bytes the caller saw at each
   * index (packed): an index holding other bytes now, or already forgotten, is skipped and its entry
   * set to 0xffffffff. The indices are not reused until `release`d.
   * @returns how many were forgotten, or -errno of a failed delete (the rest skipped).
   */
  forget(indices: Uint32Array, keys: Buffer): number;
  /** Lets forgotten indices be handed out to new keys (once no undecoded tick can hold them): how many. */
  release(indices: Uint32Array): number;
  /** Bytes of keys from index `from` on, as many as fit in `out`: how many were copied. */
  keys(from: number, out: Buffer): number;
  free(): void;
}

/** Bytes of one (key index, delta) entry of a BPF map slot. */
export const BPF_DELTA_BYTES = 16;

/** The length a slot has on a tick it was not due (`every`). */
export const NOT_READ = -61; // -ENODATA

/**
 * One drained tick: slot i's bytes are `data[start[i], start[i] + length[i])`; a negative length is
 * -errno of its read. Valid only during the callback (the buffer is reused).
 */
export interface SampledTick {
  ts: bigint;
  /** Timer expirations since the previous tick: 1, or more when ticks were missed. */
  expirations: number;
  data: Buffer;
  start: Int32Array;
  length: Int32Array;
}

export interface RunningSampler {
  /**
   * Calls `onTick` for every tick read since the last drain, oldest first, after `before` with the
   * last tick's time (when there is one). @returns how many.
   */
  drain(onTick: (tick: SampledTick) => void, before?: (lastTs: bigint) => void): number;
  /** Ticks dropped so far because nobody drained them in time. */
  dropped(): number;
  /** Stops the thread; ticks not drained yet can still be drained. */
  stop(): void;
  /** Frees the sampler (after a last drain). */
  free(): void;
}

export interface SamplerLibrary {
  start(slots: readonly SamplerSlot[], intervalMs: number, bufferTicks: number): RunningSampler;
  /** The differencing state of a BPF map: its fd, key and value size, values per key (CPUs of a per-CPU map, else 1), max entries. */
  bpfMap(fd: number, keySize: number, valueSize: number, cpus: number, maxEntries: number): NativeBpfMap;
}

export type SamplerResult = { ok: true; lib: SamplerLibrary } | { ok: false; reason: string };

const SOURCES = ['sampler.c', 'bpf-deltas.c'];
/** Everything the library is built from: a change to any of them rebuilds it. */
const INPUTS = [...SOURCES, 'bpf-deltas.h'];
const LIBRARY = 'libisoscope-sampler.so';
let cached: Promise<SamplerResult> | null = null;

/** Builds (when needed) and loads the library once per process; later calls return the same result. */
export function loadSampler(): Promise<SamplerResult> {
  cached ??= buildAndLoad();
  return cached;
}

export interface BuildOptions {
  /** The C compiler. @default $CC, else cc */
  cc?: string;
  /** Where the library is built. @default collectors/sampler/build of the package */
  buildDir?: string;
}

/** Compiles sampler.c and bpf-deltas.c when the library is missing or older than one of its sources. */
async function build(o: BuildOptions): Promise<string> {
  const dir = join(packageRoot(), 'collectors', 'sampler');
  const source = join(dir, SOURCES[0]!);
  const buildDir = o.buildDir ?? join(dir, 'build');
  const out = join(buildDir, LIBRARY);
  if (existsSync(out) && INPUTS.every((f) => statSync(out).mtimeMs >= statSync(join(dir, f)).mtimeMs)) return out;
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`; // concurrent collectors each build their own and rename
  const cc = o.cc ?? process.env.CC ?? 'cc';
  try {
    await run(cc, ['-O2', '-Wall', '-shared', '-fPIC', '-pthread', '-o', tmp, ...SOURCES.map((f) => join(dir, f))], { timeout: 120_000 });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as { code?: string; stderr?: string; message: string };
    const why = e.code === 'ENOENT' ? `no C compiler "${cc}" (install gcc, or set CC)` : ((e.stderr ?? '').trim().split('\n').slice(0, 3).join(' ') || e.message);
    throw new Error(`compiling ${source} failed: ${why}`);
  }
  return out;
}

/** Builds (when needed) and loads the library, or says why it cannot be used here. */
export async function buildAndLoad(o: BuildOptions = {}): Promise<SamplerResult> {
  if (process.platform !== 'linux') return { ok: false, reason: `the native sampler needs Linux (timerfd); this is ${process.platform}` };
  if (process.env.ISOSCOPE_NATIVE_SAMPLER === 'off') return { ok: false, reason: 'ISOSCOPE_NATIVE_SAMPLER=off' };
  let path: string;
  try {
    path = await build(o);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  type Koffi = typeof import('koffi').default;
  let koffi: Koffi;
  let lib: ReturnType<Koffi['load']>;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
    lib = koffi.load(path);
  } catch (err) {
    return { ok: false, reason: `${path} could not be loaded (${(err as Error).message})` };
  }
  koffi.opaque('isoscope_sampler');
  koffi.opaque('isoscope_bpfmap');
  const start = lib.func('isoscope_sampler *isoscope_sampler_start(const int *fds, const int *modes, const int *sizes, const int64_t *maps, int n, int64_t interval_ns, int64_t buffer_bytes, _Out_ int *err)');
  const bpfNew = lib.func('isoscope_bpfmap *isoscope_bpfmap_new(int fd, int key_size, int value_size, int cpus, int max_entries, _Out_ int *err)');
  const bpfRead = lib.func('int64_t isoscope_bpfmap_read(isoscope_bpfmap *m, _Out_ uint8_t *out, int64_t cap)');
  const bpfFeed = lib.func('int64_t isoscope_bpfmap_feed(isoscope_bpfmap *m, const uint8_t *keys, const uint8_t *values, uint32_t n, _Out_ uint8_t *out, int64_t cap)');
  const bpfKeys = lib.func('int64_t isoscope_bpfmap_keys(isoscope_bpfmap *m, uint32_t from, _Out_ uint8_t *out, int64_t cap)');
  const bpfCount = lib.func('int64_t isoscope_bpfmap_count(isoscope_bpfmap *m)');
  const bpfLive = lib.func('int64_t isoscope_bpfmap_live(isoscope_bpfmap *m)');
  const bpfForget = lib.func('int64_t isoscope_bpfmap_forget(isoscope_bpfmap *m, _Inout_ uint32_t *idx, const uint8_t *keys, uint32_t n)');
  const bpfRelease = lib.func('int64_t isoscope_bpfmap_release(isoscope_bpfmap *m, const uint32_t *idx, uint32_t n)');
  const bpfFree = lib.func('void isoscope_bpfmap_free(isoscope_bpfmap *m)');
  const drain = lib.func('int64_t isoscope_sampler_drain(isoscope_sampler *s, _Out_ uint8_t *out, int64_t cap)');
  const dropped = lib.func('int64_t isoscope_sampler_dropped(isoscope_sampler *s)');
  const stop = lib.func('void isoscope_sampler_stop(isoscope_sampler *s)');
  const free = lib.func('void isoscope_sampler_free(isoscope_sampler *s)');
  return {
    ok: true,
    lib: {
      start(slots, intervalMs, bufferTicks) {
        const n = slots.length;
        const recordMax = 24 + slots.reduce((a, s) => a + 4 + s.size, 0);
        // Room for bufferTicks records of the largest size when they are small (perf, procfs); at
        // least 16 MiB when slots may be large (BPF maps hold far fewer entries than they could).
        const bufferBytes = Math.max(2 * recordMax, Math.min(recordMax * bufferTicks, 16 << 20));
        const err = [0];
        const handle = start(
          Int32Array.from(slots, (s) => s.fd),
          Int32Array.from(slots, (s) => (s.pread ? 1 : 0) | (s.bpfMap ? 2 : 0) | (Math.max(1, Math.min(0x7fffff, Math.round(s.every ?? 1))) << 8)),
          Int32Array.from(slots, (s) => s.size),
          BigInt64Array.from(slots, (s) => s.bpfMap?.address ?? 0n),
          n,
          BigInt(Math.round(intervalMs * 1e6)),
          bufferBytes,
          err,
        ) as unknown;
        if (handle === null) throw new Error(`starting the native sampler failed with errno ${err[0]}`);
        const out = Buffer.allocUnsafe(bufferBytes);
        const tick: SampledTick = { ts: 0n, expirations: 0, data: out, start: new Int32Array(n), length: new Int32Array(n) };
        let freed = false;
        return {
          drain(onTick, before) {
            if (freed) return 0;
            const bytes = Number(drain(handle, out, out.length));
            if (before && bytes > 0) {
              let last = 0;
              for (let at = 0; at < bytes; at += out.readUInt32LE(at)) last = at;
              before(out.readBigUInt64LE(last + 8));
            }
            let ticks = 0;
            for (let at = 0; at < bytes; ticks++) {
              const total = out.readUInt32LE(at);
              const slots = out.readUInt32LE(at + 4);
              if (slots !== n || total < 24) throw new Error(`native sampler record at ${at} holds ${slots} slots in ${total} bytes; expected ${n}`);
              tick.ts = out.readBigUInt64LE(at + 8);
              tick.expirations = Number(out.readBigUInt64LE(at + 16));
              let p = at + 24;
              for (let i = 0; i < n; i++) {
                const len = out.readInt32LE(p);
                tick.length[i] = len;
                tick.start[i] = p + 4;
                p += 4 + (len > 0 ? len : 0);
              }
              onTick(tick);
              at += total;
            }
            return ticks;
          },
          dropped: () => (freed ? 0 : Number(dropped(handle))),
          stop: () => {
            if (!freed) stop(handle);
          },
          free: () => {
            if (!freed) free(handle);
            freed = true;
          },
        };
      },
      bpfMap(fd, keySize, valueSize, cpus, maxEntries) {
        const err = [0];
        const m = bpfNew(fd, keySize, valueSize, cpus, maxEntries, err) as unknown;
        if (m === null) throw new Error(`the BPF map state for fd ${fd} could not be made (errno ${err[0]})`);
        let freed = false;
        const live = () => {
          if (freed) throw new Error(`the BPF map state for fd ${fd} was freed`);
          return m;
        };
        return {
          address: BigInt(koffi.address(m)),
          read: (out) => Number(bpfRead(live(), out, out.length)),
          feed: (keys, values, n, out) => Number(bpfFeed(live(), keys, values, n, out, out.length)),
          count: () => Number(bpfCount(live())),
          live: () => Number(bpfLive(live())),
          forget: (indices, keys) => Number(bpfForget(live(), indices, keys, indices.length)),
          release: (indices) => Number(bpfRelease(live(), indices, indices.length)),
          keys: (from, out) => Number(bpfKeys(live(), from, out, out.length)),
          free: () => {
            if (!freed) bpfFree(m);
            freed = true;
          },
        };
      },
    },
  };
}
