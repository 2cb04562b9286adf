/**
 * Where a partition's cgroup lives, below a hierarchy's mount (the one rule every driver, test and
 * doc uses): `<root>/<experiment slug>-<run hash>/<node>-<partition>`. The middle directory belongs
 * to one run, so two experiments (or two attempts of one cell) running at once on a machine never
 * share a cgroup even when their node and partition names are the same; it is removed with the
 * run's last partition.
 */
import { createHash } from 'node:crypto';

/** Characters of the experiment name kept in the run's directory (the hash keeps it unique). */
const SLUG_MAX = 24;

/** `name` as one safe path component: letters, digits, `_`, `.`, `-`; no leading punctuation. */
export function slug(name: string, max = SLUG_MAX): string {
  const s = name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, max).replace(/[.-]+$/, '');
  return s || 'x';
}

/**
 * The run's directory below the root: the experiment's name (sanitized, shortened) and 8 hex
 * digits of the run id's SHA-256 (run ids are unique per experiment, cell and attempt).
 * @example runCgroupDir('stream-interference', 'stream-interference.shared.n1.bg.r0.3fa2c1') // 'stream-interference-6f9d031c'
 */
export function runCgroupDir(experiment: string, run: string): string {
  return slugWithHash(experiment, run);
}

/** `name` as a short safe path component, made unique by 8 hex digits of `key`'s SHA-256. */
export function slugWithHash(name: string, key: string): string {
  return `${slug(name)}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

export interface PartitionCgroupName {
  /** The drivers' `root` option (one directory name). @default "isoscope" */
  root?: string;
  experiment: string;
  run: string;
  node: string;
  partition: string;
}

/**
 * The partition's cgroup relative to a hierarchy's mount, without a leading slash; the collector's
 * cgroup label of the partition is this with a leading `/`.
 * @example partitionCgroup({ experiment: 'e', run: 'e.c.1', node: 'local', partition: 'app' }) // 'isoscope/e-<8 hex>/local-app'
 */
export function partitionCgroup(p: PartitionCgroupName): string {
  return `${p.root ?? 'isoscope'}/${runCgroupDir(p.experiment, p.run)}/${slug(p.node, 63)}-${slug(p.partition, 63)}`;
}
