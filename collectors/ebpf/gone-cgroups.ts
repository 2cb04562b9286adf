/**
 * Deletes the keys of cgroups that are gone from the BPF maps keyed by cgroup, so a collector that
 * outlives many runs (each making and removing cgroups) does not fill its maps, nor keep a growing
 * key table and label cache. Run rarely (the ebpf source does it once a minute): it lists each map's
 * keys, then walks the cgroup v2 tree, and is the only cost.
 *
 * Nothing counted is lost, and no live cgroup's key is touched:
 * - A key is deleted only when its cgroup was missing from two walks in a row. The cgroup was empty
 *   when it was removed (rmdir needs that), so its last counts were read in the minute between.
 * - The keys are listed before the walk, so a cgroup made meanwhile is in the walk. Cgroup ids are
 *   not reused.
 * - On the native path the differencing state forgets the key with its index (bpf-deltas.c), and the
 *   index is handed out again only after the delta reader has decoded every tick read before the
 *   forget (a tick time after it was seen) and forgotten its labels: an index in a tick always
 *   means the key the reader has for it.
 */
import type { NativeBpfMap } from '../sampler/native-sampler.js';
import type { DeltaReader } from './delta-reader.js';
import type { LabelConfig } from './metrics-config.js';
import type { BpfMapInfo, BpfNative } from './native.js';

/** A metric map whose keys hold a cgroup id. */
export interface CgroupKeyedMap {
  map: BpfMapInfo;
  /** Byte offset and size of the cgroup id in the key. */
  offset: number;
  size: number;
  /** The native differencing state and its reader, or null on the JS path (the map itself is listed). */
  native: { state: NativeBpfMap; reader: DeltaReader } | null;
}

/** Where the cgroup id sits in a key: the label decoded by `cgroup`, or null when the map has none. */
export function cgroupLabel(labels: readonly LabelConfig[]): { offset: number; size: number } | null {
  let offset = 0;
  for (const l of labels) {
    if (l.decoders.some((d) => d.name === 'cgroup') && l.size <= 8) return { offset, size: l.size };
    offset += l.size;
  }
  return null;
}

function idAt(key: Buffer, at: number, size: number): bigint {
  let n = 0n;
  for (let i = size - 1; i >= 0; i--) n = (n << 8n) | BigInt(key[at + i]!);
  return n;
}

export interface PruneResult {
  /** Keys deleted by this pass. */
  deleted: number;
  /** Cgroup ids seen missing for the first time (deleted on the next pass if still missing). */
  suspected: number;
  /** Indices forgotten by an earlier pass and handed back to the native state by this one. */
  released: number;
}

export class GoneCgroups {
  /** Per map fd: ids missing from the previous walk. */
  private suspects = new Map<number, Set<bigint>>();
  /** Per map fd: indices forgotten by the previous pass, with the wall time (ns) of the forget. */
  private quarantine = new Map<number, { indices: number[]; at: bigint }>();

  /**
   * One pass over the maps. `liveCgroups` walks the cgroup tree (called after the keys are listed);
   * `decodedUntil` is the time (wall ns) of the last read the delta readers decoded.
   */
  prune(maps: readonly CgroupKeyedMap[], native: BpfNative, liveCgroups: () => ReadonlySet<bigint>, decodedUntil: bigint): PruneResult {
    // Indices forgotten last time go back to the native state once every tick before the forget is decoded.
    let released = 0;
    for (const m of maps) {
      const q = this.quarantine.get(m.map.fd);
      if (!m.native || !q || decodedUntil <= q.at) continue;
      m.native.reader.forget(q.indices);
      released += Math.max(0, m.native.state.release(Uint32Array.from(q.indices)));
      this.quarantine.delete(m.map.fd);
    }
    const listed = maps.map((m) => ({ m, keys: m.native ? listNative(m.native.state, m.map.keySize) : listMap(native, m.map) }));
    const live = liveCgroups();
    if (live.size === 0) return { deleted: 0, suspected: 0, released }; // the walk failed: the root itself is always there
    let deleted = 0;
    let suspected = 0;
    for (const { m, keys } of listed) {
      const before = this.suspects.get(m.map.fd) ?? new Set<bigint>();
      const missing = new Set<bigint>();
      const doomed: number[] = [];
      for (let i = 0; i < keys.count; i++) {
        const id = idAt(keys.bytes, i * m.map.keySize + m.offset, m.size);
        if (live.has(id)) continue;
        if (!missing.has(id) && !before.has(id)) suspected++;
        missing.add(id);
        if (before.has(id)) doomed.push(i);
      }
      this.suspects.set(m.map.fd, missing);
      if (doomed.length === 0) continue;
      if (m.native) {
        // An index still in quarantine is skipped by the state (already forgotten).
        const indices = Uint32Array.from(doomed); // a key's position in the listing is its index
        const bytes = Buffer.alloc(doomed.length * m.map.keySize);
        doomed.forEach((k, j) => keys.bytes.copy(bytes, j * m.map.keySize, k * m.map.keySize, (k + 1) * m.map.keySize));
        const n = m.native.state.forget(indices, bytes);
        const forgotten = [...indices].filter((i) => i !== 0xffffffff);
        if (forgotten.length > 0) {
          const q = this.quarantine.get(m.map.fd);
          this.quarantine.set(m.map.fd, { indices: [...(q?.indices ?? []), ...forgotten], at: BigInt(Date.now()) * 1_000_000n });
        }
        deleted += forgotten.length;
        if (n < 0) throw new Error(`deleting keys of gone cgroups from BPF map ${m.map.name} failed with errno ${-n}`);
      } else {
        for (const k of doomed) if (native.deleteKey(m.map.fd, keys.bytes.subarray(k * m.map.keySize, (k + 1) * m.map.keySize))) deleted++;
      }
    }
    return { deleted, suspected, released };
  }
}

/** Keys packed in `bytes`; on the native path a key's position is its index in the state (forgotten ones included). */
interface Listed {
  count: number;
  bytes: Buffer;
}

function listNative(state: NativeBpfMap, keySize: number): Listed {
  const total = state.count();
  const bytes = Buffer.alloc(total * keySize);
  let got = 0;
  while (got < total) {
    const n = state.keys(got, bytes.subarray(got * keySize));
    if (n <= 0) break;
    got += n;
  }
  return { count: got, bytes };
}

function listMap(native: BpfNative, map: BpfMapInfo): Listed {
  const keys: Buffer[] = [];
  const key = Buffer.alloc(map.keySize);
  for (let first = true; native.nextKey(map.fd, first ? null : key, key); first = false) keys.push(Buffer.from(key));
  return { count: keys.length, bytes: Buffer.concat(keys) };
}
