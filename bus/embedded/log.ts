/**
 * One topic's log (its single partition 0): segment files of frames (segment.ts), appended with
 * group commit and recovered on open. Appends queued while a write+fdatasync is in flight are
 * written together and share the next fdatasync, so many small sends cost one sync. Only synced
 * records are visible to readers (`durableEnd`), and `append` resolves only once they are synced.
 */
import { EventEmitter } from 'node:events';
import { mkdir, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { BusMessage } from '../bus.js';
import { fsyncDir } from './fs-util.js';
import { encodeRecords, parseSegmentFileName, readFrame, segmentFileName } from './segment.js';

/** A segment file and how many of its bytes are durable and readable. */
export interface SegmentInfo {
  baseOffset: number;
  path: string;
  size: number;
}

interface PendingAppend {
  messages: BusMessage[];
  resolve: (range: { firstOffset: number; lastOffset: number }) => void;
  reject: (err: Error) => void;
}

const RECOVERY_CHUNK = 4 * 1024 * 1024;

export class TopicLog extends EventEmitter {
  private readonly segments: SegmentInfo[];
  private nextOffset: number;
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** Counters for tests and metrics: every sync covers all the appends queued before it. */
  readonly stats = { appends: 0, messages: 0, syncs: 0 };

  private constructor(
    readonly topic: string,
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly log: Logger,
    segments: SegmentInfo[],
    private handle: FileHandle,
    endOffset: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.segments = segments;
    this.nextOffset = endOffset;
  }

  /** Opens (creating if needed) the log in `dir`, truncating a torn tail left by a crash. */
  static async open(topic: string, dir: string, segmentBytes: number, log: Logger): Promise<TopicLog> {
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir)).map(parseSegmentFileName).filter((b): b is number => b !== null).sort((a, b) => a - b);
    if (bases.length === 0) {
      const handle = await open(join(dir, segmentFileName(0)), 'wx');
      await fsyncDir(dir);
      return new TopicLog(topic, dir, segmentBytes, log, [{ baseOffset: 0, path: join(dir, segmentFileName(0)), size: 0 }], handle, 0);
    }
    const segments: SegmentInfo[] = [];
    for (const base of bases.slice(0, -1)) {
      const path = join(dir, segmentFileName(base));
      segments.push({ baseOffset: base, path, size: (await stat(path)).size });
    }
    const lastBase = bases[bases.length - 1]!;
    const lastPath = join(dir, segmentFileName(lastBase));
    const handle = await open(lastPath, 'r+');
    try {
      const { size, endOffset } = await recoverSegment(topic, handle, lastPath, lastBase, log);
      segments.push({ baseOffset: lastBase, path: lastPath, size });
      return new TopicLog(topic, dir, segmentBytes, log, segments, handle, endOffset);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Offset of the oldest record still in the log. */
  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Offset the next appended record will get: everything below it is durable. */
  get endOffset(): number {
    return this.nextOffset;
  }

  /** The segments, oldest first, with their durable sizes (live: the last one grows). */
  segmentList(): readonly SegmentInfo[] {
    return this.segments;
  }

  /** Appends messages; resolves with their offsets once they are fdatasync'ed. */
  append(messages: BusMessage[]): Promise<{ firstOffset: number; lastOffset: number }> {
    if (this.closed) return Promise.reject(new Error(`topic ${this.topic} of the embedded bus is closed; no more appends are accepted`));
    if (this.failure) return Promise.reject(this.failure);
    if (messages.length === 0) return Promise.resolve({ firstOffset: this.nextOffset, lastOffset: this.nextOffset - 1 });
    return new Promise((resolve, reject) => {
      this.pending.push({ messages, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Waits for queued appends, then closes the active segment. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.handle.close().catch(() => undefined);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) await this.writeGroup(this.pending.splice(0));
    } finally {
      this.flushing = null;
    }
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    const active = this.segments[this.segments.length - 1]!;
    if (this.failure) {
      for (const p of group) p.reject(this.failure);
      return;
    }
    const now = Date.now();
    let offset = this.nextOffset;
    const frames: Buffer[] = [];
    let bytes = 0;
    try {
      for (const p of group) {
        frames.push(encodeRecords(offset, now, p.messages));
        offset += p.messages.length;
        bytes += frames[frames.length - 1]!.length;
      }
      await writeAll(this.handle, frames, bytes, active.size);
      await this.handle.datasync();
    } catch (cause) {
      const total = group.reduce((n, p) => n + p.messages.length, 0);
      const err = new Error(`appending ${total} messages to topic ${this.topic} in ${active.path} failed: ${(cause as Error).message}`, { cause });
      // Cut what may have reached the file, so the next append starts at the last durable record.
      await this.handle.truncate(active.size).catch((truncErr: Error) => {
        this.failure = new Error(`topic ${this.topic} of the embedded bus is unusable: after a failed append, truncating ${active.path} back to ${active.size} bytes failed too (${truncErr.message})`);
      });
      for (const p of group) p.reject(err);
      return;
    }
    const count = offset - this.nextOffset;
    let first = this.nextOffset;
    const ranges = group.map((p) => ({ firstOffset: first, lastOffset: (first += p.messages.length) - 1 }));
    active.size += bytes;
    this.nextOffset = offset;
    this.stats.appends += group.length;
    this.stats.messages += count;
    this.stats.syncs++;
    group.forEach((p, i) => p.resolve(ranges[i]!));
    this.emit('append', this.nextOffset);
    if (active.size >= this.segmentBytes) await this.roll();
  }

  /** Starts a new segment; the old one is complete and synced. A failure only delays the roll. */
  private async roll(): Promise<void> {
    const path = join(this.dir, segmentFileName(this.nextOffset));
    try {
      const handle = await open(path, 'wx');
      await fsyncDir(this.dir);
      const old = this.handle;
      this.handle = handle;
      this.segments.push({ baseOffset: this.nextOffset, path, size: 0 });
      await old.close();
    } catch (err) {
      this.log.warn({ err, topic: this.topic, path }, `Rolling topic ${this.topic} to a new segment ${path} failed; appends continue in the current segment and the roll is retried after the next append.`);
    }
  }
}

/** Writes every frame at `position`, continuing after short writes. */
async function writeAll(handle: FileHandle, frames: Buffer[], bytes: number, position: number): Promise<void> {
  const { bytesWritten } = await handle.writev(frames, position);
  if (bytesWritten === bytes) return;
  const rest = Buffer.concat(frames).subarray(bytesWritten);
  for (let done = 0; done < rest.length; ) {
    const { bytesWritten: n } = await handle.write(rest, done, rest.length - done, position + bytesWritten + done);
    done += n;
  }
}

/**
 * Scans the active segment from its start and keeps every complete record with the expected
 * offsets; the first torn or corrupt frame and everything after it are cut off (a crash can only
 * tear the tail, since appends are sequential and synced before they are acknowledged).
 */
async function recoverSegment(topic: string, handle: FileHandle, path: string, base: number, log: Logger): Promise<{ size: number; endOffset: number }> {
  const fileSize = (await handle.stat()).size;
  let pos = 0;
  let expected = base;
  let problem: string | null = null;
  let buf = Buffer.alloc(0);
  let bufStart = 0;
  while (pos < fileSize && problem === null) {
    const frame = readFrame(buf, pos - bufStart);
    if (frame.kind === 'record') {
      if (frame.record.offset !== expected) problem = `offset ${frame.record.offset} where ${expected} was expected`;
      else {
        pos = bufStart + frame.next;
        expected++;
      }
    } else if (frame.kind === 'corrupt') problem = frame.reason;
    else if (pos + frame.need > fileSize) problem = `a frame of ${frame.need} bytes with only ${fileSize - pos} bytes left in the file`;
    else {
      buf = Buffer.allocUnsafe(Math.max(frame.need, Math.min(RECOVERY_CHUNK, fileSize - pos)));
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
      if (bytesRead < frame.need) throw new Error(`reading ${path} at byte ${pos} returned ${bytesRead} bytes, expected at least ${frame.need}: is another process writing it?`);
      buf = buf.subarray(0, bytesRead);
      bufStart = pos;
    }
  }
  if (problem !== null) {
    log.warn({ topic, path, keptBytes: pos, droppedBytes: fileSize - pos }, `Recovering topic ${topic}: ${path} has ${problem} at byte ${pos}; the ${fileSize - pos} bytes from there on are a write torn by a crash and are cut off (every complete record before them is kept).`);
    await handle.truncate(pos);
    await handle.sync();
  }
  return { size: pos, endOffset: expected };
}
