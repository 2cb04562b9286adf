/**
 * The JS path's whole read of a BPF map (the native sampler has its own, bpf-deltas.c): every entry
 * with its per-CPU values summed, with BPF_MAP_LOOKUP_BATCH where the kernel has it for the map's
 * type, else key by key. Batch buffers are kept per map between intervals.
 */
import type { MapEntry } from './metric-reader.js';
import type { BpfMapInfo, BpfNative } from './native.js';

/** BPF_MAP_TYPE_PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH: one value per possible CPU. */
export const PER_CPU_TYPES = new Set([5, 6, 10]);

/** Buffers of a map's batched reads, kept between intervals; `batch` false once the kernel refused it. */
interface BatchState {
  batch: boolean;
  chunk: number;
  keys: Buffer;
  values: Buffer;
  inBatch: Buffer;
  outBatch: Buffer;
}
const batchStates = new WeakMap<BpfMapInfo, BatchState>();

/** Entries per BPF_MAP_LOOKUP_BATCH call: the whole map when small, else chunks of this many. */
const MAX_CHUNK = 4096;

/**
 * All entries of a map, per-CPU values summed: with BPF_MAP_LOOKUP_BATCH (one syscall per chunk of
 * entries) where the kernel has it for the map's type, else key by key (two syscalls per entry).
 */
export function readMap(native: BpfNative, map: BpfMapInfo): MapEntry[] {
  const cpus = PER_CPU_TYPES.has(map.type) ? native.possibleCpus() : 1;
  const stride = Math.ceil(map.valueSize / 8) * 8;
  let state = batchStates.get(map);
  if (state === undefined) {
    const chunk = Math.max(1, Math.min(map.maxEntries || MAX_CHUNK, MAX_CHUNK));
    const token = Math.max(map.keySize, 8);
    state = { batch: true, chunk, keys: Buffer.alloc(map.keySize * chunk), values: Buffer.alloc(stride * cpus * chunk), inBatch: Buffer.alloc(token), outBatch: Buffer.alloc(token) };
    batchStates.set(map, state);
  }
  if (state.batch) {
    const out = readBatched(native, map, state, cpus, stride);
    if (out !== null) return out;
    state.batch = false;
  }
  return readByKey(native, map, cpus, stride);
}

function readBatched(native: BpfNative, map: BpfMapInfo, s: BatchState, cpus: number, stride: number): MapEntry[] | null {
  const out: MapEntry[] = [];
  let first = true;
  for (;;) {
    const r = native.lookupBatch(map.fd, first ? null : s.inBatch, s.outBatch, s.keys, s.values, s.chunk);
    if (r === null) return first ? null : readByKey(native, map, cpus, stride);
    for (let i = 0; i < r.count; i++) {
      let v = 0n;
      const base = i * stride * cpus;
      for (let c = 0; c < cpus; c++) v += s.values.readBigUInt64LE(base + c * stride);
      out.push({ key: Buffer.from(s.keys.subarray(i * map.keySize, (i + 1) * map.keySize)), value: v });
    }
    if (r.done) return out;
    s.outBatch.copy(s.inBatch);
    first = false;
  }
}

function readByKey(native: BpfNative, map: BpfMapInfo, cpus: number, stride: number): MapEntry[] {
  const key = Buffer.alloc(map.keySize);
  const next = Buffer.alloc(map.keySize);
  const value = Buffer.alloc(stride * cpus);
  const out: MapEntry[] = [];
  let first = true;
  while (native.nextKey(map.fd, first ? null : key, next)) {
    first = false;
    next.copy(key);
    if (!native.lookup(map.fd, key, value)) continue;
    let v = 0n;
    for (let c = 0; c < cpus; c++) v += value.readBigUInt64LE(c * stride);
    out.push({ key: Buffer.from(key), value: v });
  }
  return out;
}
