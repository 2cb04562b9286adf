/**
 * The hand-over of a partition to a node's collector: the orchestrator writes one JSON file per
 * partition into the collector's scopes directory (`<dir>/<run>__<partition>.json`, written to a
 * temporary name and renamed), the collector starts counting it and answers with
 * `<file>.ack` (what it counts, or why it cannot); removing the file ends the counting, and the
 * collector removes the ack after its final read. A file, not a network call, so the same hand-over
 * works locally and over SSH, and a restarted collector finds every live partition again.
 */
import { z } from 'zod';

export const scopeFileSchema = z.strictObject({
  /** Partition name: stamped into the `partition` column of every sample counted for it. */
  partition: z.string().min(1),
  /** The run the partition belongs to: stamped into `run`. */
  run: z.string().min(1).nullable(),
  /** Cgroup directories (absolute, on the node) holding exactly the partition's tasks. */
  cgroups: z.array(z.string().regex(/^\//, 'expected an absolute cgroup directory')).min(1),
});

export type ScopeFile = z.infer<typeof scopeFileSchema>;

export const scopeAckSchema = z.strictObject({
  /** perf events counted for the partition. */
  counting: z.array(z.string()),
  /** Events that could not be counted, with the reason. */
  unsupported: z.array(z.strictObject({ event: z.string(), reason: z.string() })),
  /** Cgroup labels (paths inside their hierarchy) the partition's per-cgroup samples carry. */
  labels: z.array(z.string()),
  /** Set when nothing could be counted for the partition. */
  error: z.string().nullable(),
});

export type ScopeAck = z.infer<typeof scopeAckSchema>;

const SAFE = /[^A-Za-z0-9._-]/g;

/** File name of a partition's scope inside the scopes directory. */
export function scopeFileName(run: string | null, partition: string): string {
  return `${(run ?? 'none').replace(SAFE, '_')}__${partition.replace(SAFE, '_')}.json`;
}

export const ACK_SUFFIX = '.ack';
