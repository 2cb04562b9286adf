/**
 * Keys the loaded eBPF programs could not add to a map: each object's `isoscope_dropped_keys`
 * counters (maps.bpf.h, per CPU), summed, apart for a full map (E2BIG) and any other failure (ENOMEM
 * from a non-preallocated map's allocator, EBUSY when an update would nest in another on the same CPU). A full map used to drop new keys
 * silently (the counts of a new cgroup simply never appeared); now both totals are self telemetry
 * (`collector.ebpf_dropped_keys`, `collector.ebpf_failed_keys`) and their growth is logged with the
 * program's name.
 */
import { componentLogger } from '../../core/logger.js';
import type { BpfNative, BpfObject } from './native.js';

/** The counter map every shipped program has (maps.bpf.h): [0] map full, [1] other failures. */
export const DROPPED_KEYS_MAP = 'isoscope_dropped_keys';

/** How long totals are reused: self telemetry asks on every tick, a full map is news on a scale of seconds. */
const EVERY_MS = 1000;

export interface DroppedKeyCounts {
  /** Keys not added because their map was full (max_entries). */
  full: number;
  /** Keys not added for another reason (EBUSY, ENOMEM). */
  failed: number;
}

export class DroppedKeys {
  private readonly counters: { program: string; fd: number; last: DroppedKeyCounts }[] = [];
  private readonly keys = [0, 1].map((k) => Buffer.from(new Uint32Array([k]).buffer));
  private value: Buffer = Buffer.alloc(0);
  private total: DroppedKeyCounts = { full: 0, failed: 0 };
  private readAt = -Infinity;
  private readonly log = componentLogger('ebpf');

  constructor(private readonly native: BpfNative) {}

  /** Follows an object's counters, where it has them (objects not built with maps.bpf.h have none). */
  add(program: string, obj: BpfObject): void {
    const map = obj.maps.find((m) => m.name === DROPPED_KEYS_MAP);
    if (!map) return;
    this.counters.push({ program, fd: map.fd, last: { full: 0, failed: 0 } });
    this.value = Buffer.alloc(8 * this.native.possibleCpus());
  }

  clear(): void {
    this.counters.length = 0;
    this.total = { full: 0, failed: 0 };
  }

  /** Keys dropped since the programs were loaded, over all of them (read at most once a second). */
  read(now = performance.now()): DroppedKeyCounts {
    if (now - this.readAt < EVERY_MS) return this.total;
    this.readAt = now;
    const total = { full: 0, failed: 0 };
    for (const c of this.counters) {
      const n = { full: this.sum(c.fd, 0) ?? c.last.full, failed: this.sum(c.fd, 1) ?? c.last.failed };
      if (n.full > c.last.full) this.log.warn({ program: c.program, dropped: n.full - c.last.full, total: n.full }, `eBPF program ${c.program} found a map full and dropped ${n.full - c.last.full} new keys (${n.full} since it was loaded): their counts are missing.`);
      if (n.failed > c.last.failed) this.log.warn({ program: c.program, failed: n.failed - c.last.failed, total: n.failed }, `eBPF program ${c.program} could not add ${n.failed - c.last.failed} keys to a map that was not full (${n.failed} since it was loaded; EBUSY or ENOMEM in the kernel): their counts are missing.`);
      c.last = n;
      total.full += n.full;
      total.failed += n.failed;
    }
    this.total = total;
    return total;
  }

  /** One counter summed over CPUs; null when the map cannot be read (shutdown under way). */
  private sum(fd: number, key: 0 | 1): number | null {
    try {
      if (!this.native.lookup(fd, this.keys[key]!, this.value)) return null;
    } catch {
      return null;
    }
    let n = 0;
    for (let i = 0; i < this.value.length; i += 8) n += Number(this.value.readBigUInt64LE(i));
    return n;
  }
}
