/**
 * The spool's index of files and frames, and how it is rebuilt from what a previous run left in
 * the directory: the `forwarded` marker (how far the bus took everything), files of earlier versions
 * (segment files, one-batch files: older than any log, so sent first) and the log files in order,
 * each scanned frame by frame up to its first torn or corrupt frame (segment-file.ts).
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { scanFrames, type SpooledBatch } from './segment-file.js';

export interface BatchMeta {
  topic: string;
  seq: number;
  bytes: number;
}

export interface SpoolFile {
  path: string;
  kind: 'log' | 'segment' | 'batch';
  /** Its size on disk. */
  bytes: number;
  /** Frames in it with batches not yet taken. */
  liveFrames: number;
  /** Appended to by this process (the last log file). */
  writing: boolean;
  /** Its bytes, once read for forwarding (files of earlier runs). */
  cache: Buffer | null;
}

export interface Frame {
  file: SpoolFile;
  offset: number;
  /** Bytes on disk, with the frame header. */
  length: number;
  position: number;
  count: number;
  /** Topic, seq and size of each batch; null until read. */
  meta: BatchMeta[] | null;
  /** The batches with their bodies, while in memory. */
  batches: SpooledBatch[] | null;
  /** Whether `batches` counts against the memory budget. */
  held: boolean;
  /** Batches the bus took (or that were dropped), by index. */
  done: Uint8Array;
  live: number;
}

/** What a previous run left: files in the order they are sent, each with all its frames. */
export interface FoundSpool {
  /** Positions below it were taken by the bus. */
  forwarded: number;
  /** The number of the next log file to create. */
  nextLog: number;
  files: { file: SpoolFile; frames: Frame[] }[];
}

const LOG = /^(\d{16})\.log$/;
const SEGMENT = /^(\d{16})\.(\d+)\.seg$/;
const LEGACY = /^(\d{16})\.([A-Za-z0-9._-]+)\.(\d+)\.batch$/;
export const FORWARDED = 'forwarded';

/** The name of log file number `n`. */
export function logName(n: number): string {
  return `${String(n).padStart(16, '0')}.log`;
}

/** Reads the spool directory `dir` (which exists); removes the temporary files of a crashed write. */
export async function scanSpoolDir(dir: string, log: Logger): Promise<FoundSpool> {
  const names = (await readdir(dir)).sort();
  const found: FoundSpool = { forwarded: 0, nextLog: 0, files: [] };
  if (names.includes(FORWARDED)) {
    const raw = await readFile(join(dir, FORWARDED));
    if (raw.length >= 8) found.forwarded = Number(raw.readBigUInt64BE(0));
  }
  // Earlier versions' files first (they are older than any log), then the logs in order.
  for (const name of names) {
    if (name.endsWith('.tmp')) await rm(join(dir, name), { force: true }); // torn write of a crash: never acknowledged
    const seg = SEGMENT.exec(name);
    const legacy = seg ? null : LEGACY.exec(name);
    if (!seg && !legacy) continue;
    const path = join(dir, name);
    const bytes = (await stat(path)).size;
    const count = seg ? Number(seg[2]) : 1;
    const file: SpoolFile = { path, kind: seg ? 'segment' : 'batch', bytes, liveFrames: 0, writing: false, cache: null };
    const meta = legacy ? [{ topic: legacy[2]!, seq: Number(legacy[3]), bytes }] : null;
    found.files.push({ file, frames: [{ file, offset: 0, length: bytes, position: Number((seg ?? legacy)![1]), count, meta, batches: null, held: false, done: new Uint8Array(count), live: count }] });
  }
  for (const name of names) {
    const m = LOG.exec(name);
    if (!m) continue;
    found.nextLog = Math.max(found.nextLog, Number(m[1]) + 1);
    const path = join(dir, name);
    const raw = await readFile(path);
    const { frames, end } = scanFrames(raw);
    if (end < raw.length) log.warn({ file: path, bytes: raw.length - end }, `The spool log ${path} ends in ${raw.length - end} bytes of a write that was never acknowledged; they are ignored.`);
    const file: SpoolFile = { path, kind: 'log', bytes: raw.length, liveFrames: 0, writing: false, cache: null };
    found.files.push({ file, frames: frames.map((f) => ({ file, ...f, meta: null, batches: null, held: false, done: new Uint8Array(f.count), live: f.count })) });
  }
  return found;
}
