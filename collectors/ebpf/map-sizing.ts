/**
 * How many entries each metric map of an eBPF program gets: sized at load time from what this node
 * needs (its possible CPUs and its cgroups) instead of the fixed size compiled into the object.
 * The compiled 16,384 was too small on a large node (sched_switch keys by cgroup and CPU: 129
 * cgroups fill it on 128 CPUs, and every new key was dropped without a word) and too large on a
 * small one: a batch lookup walks every hash bucket, and the native sampler's buffers are sized
 * for every entry (per-CPU values included). A label's cardinality is known for `cgroup`
 * (cgroupSlots), `cpu` (possible CPUs) and a histogram's bucket (its buckets and the sum key); a
 * map with any other label (irq names, devices) keeps its compiled size. A map that fills anyway
 * counts the keys it could not add (maps.bpf.h, `isoscope_dropped_keys`), reported as
 * `collector.ebpf_dropped_keys`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CounterConfig, HistogramConfig } from './metrics-config.js';

/** What a node needs of a map: its possible CPUs (per-CPU keys) and the cgroup ids a map keeps. */
export interface MapNeeds {
  cpus: number;
  cgroups: number;
}

/** The most entries a map gets, whatever the product of its labels. */
export const MAX_ENTRIES = 1 << 20;

/**
 * Cgroup ids a map keyed by cgroup must hold: four times the cgroups there are at load time, and at
 * least 512. Keys of cgroups that are gone leave the maps only a minute or two later
 * (gone-cgroups.ts), and cgroups made while the collector runs (a partition per run, containers)
 * add up meanwhile: the margin is for them.
 */
export function cgroupSlots(cgroupsNow: number): number {
  return Math.max(512, 4 * cgroupsNow);
}

/** Directories in the cgroup v2 hierarchy under `root` (itself included); 0 when it cannot be read. */
export function countCgroups(root: string | null): number {
  if (root === null) return 0;
  let n = 0;
  const walk = (dir: string): void => {
    n++;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone meanwhile, or not ours to read
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(root);
  return n;
}

/**
 * Entries a metric's map needs on this node: the product of its labels' cardinalities, or null when
 * a label's is unknown (the map keeps its compiled size).
 */
export function metricEntries(metric: { kind: 'counter'; config: CounterConfig } | { kind: 'histogram'; config: HistogramConfig }, needs: MapNeeds): number | null {
  const labels = metric.config.labels;
  let n = 1;
  for (let i = 0; i < labels.length; i++) {
    const name = labels[i]!.name;
    if (metric.kind === 'histogram' && i === labels.length - 1) n *= bucketKeys(metric.config);
    else if (name === 'cgroup') n *= cgroupSlots(needs.cgroups);
    else if (name === 'cpu') n *= Math.max(1, needs.cpus);
    else return null;
  }
  return Math.min(MAX_ENTRIES, Math.max(1, n));
}

/** Bucket keys a histogram map holds: every bucket the program can count (from 0) and the sum key (bucket_max + 1). */
function bucketKeys(h: HistogramConfig): number {
  if (h.bucket_type === 'fixed') return h.bucket_keys!.length + 1;
  return h.bucket_max! + 2;
}
