/**
 * Finding tracefs, where every tracepoint's numeric id lives (events/<subsystem>/<name>/id). It is
 * normally at /sys/kernel/tracing, or under debugfs at /sys/kernel/debug/tracing on older systems;
 * when it is not mounted and we are root, it is mounted at /sys/kernel/tracing (as perf does).
 */
import { stat, readFile } from 'node:fs/promises';
import { errnoName } from './errno.js';
import type { PerfNative } from './native.js';

/** Where tracefs is looked for, in order. */
export const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

/** True when `dir` holds a mounted tracefs (its `events/` directory). */
export async function isTracefs(dir: string): Promise<boolean> {
  return stat(`${dir}/events`).then((s) => s.isDirectory(), () => false);
}

export interface LocateOptions {
  /** Use only this directory (mounting tracefs there if it is empty and we may). */
  override?: string;
  /** Mount tracefs when it is not found and the process is root. @default true */
  mount?: boolean;
  native?: PerfNative;
}

/**
 * The directory of a mounted tracefs, mounting one if needed and allowed.
 * @throws Error saying where it looked and why it could not mount.
 */
export async function locateTracefs(o: LocateOptions = {}): Promise<string> {
  const candidates = o.override ? [o.override] : [...TRACEFS_CANDIDATES];
  for (const dir of candidates) if (await isTracefs(dir)) return dir;
  const target = o.override ?? TRACEFS_CANDIDATES[0];
  const looked = `tracefs is not mounted (looked in ${candidates.join(', ')})`;
  if (o.mount === false) throw new Error(`${looked}, and mounting it is turned off; mount it with: mount -t tracefs nodev ${target}`);
  if (process.getuid?.() !== 0) throw new Error(`${looked}, and mounting it needs root; mount it with: mount -t tracefs nodev ${target}`);
  if (!o.native) throw new Error(`${looked}, and mount(2) is not available here to mount it at ${target}`);
  const r = o.native.mount('nodev', target, 'tracefs');
  if (r < 0) throw new Error(`${looked}; mounting tracefs at ${target} failed (${errnoName(-r)})`);
  if (!(await isTracefs(target))) throw new Error(`tracefs was mounted at ${target} but has no events/ directory; is CONFIG_EVENT_TRACING off?`);
  return target;
}

/**
 * The numeric id of tracepoint `subsystem:event` under a tracefs directory.
 * @throws Error saying which file is missing or malformed.
 */
export async function tracepointId(tracefs: string, subsystem: string, event: string): Promise<bigint> {
  const path = `${tracefs}/events/${subsystem}/${event}/id`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${subsystem}:${event}: no such tracepoint on this kernel (${path} does not exist; list them with ls ${tracefs}/events/${subsystem})`);
    throw new Error(`${subsystem}:${event}: could not read ${path} (${code ?? (err as Error).message})`);
  }
  if (!/^\d+\s*$/.test(text)) throw new Error(`${subsystem}:${event}: ${path} holds "${text.trim()}"; expected a number`);
  return BigInt(text.trim());
}
