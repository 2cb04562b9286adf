/**
 * The collector's on-disk spool, a log. Batches appended at the same moment are made durable
 * together (group commit): one frame appended to the current log file `<n>.log` and fdatasync'ed,
 * and every `append` of the group resolves only after that. Creating a file costs about 400 µs of
 * kernel CPU on the machines measured (docs/DECISIONS.md), so a log file takes frames until it
 * reaches an eighth of the bound (at most 8 MiB); a new one is created and its directory entry
 * fsync'ed before anything is written to it. A log file goes once every batch in it was taken by the
 * bus (or dropped) and it is no longer written. `forwarded` holds the position up to which the bus
 * took everything; it is written after each forward without fsync, so after a crash of the process
 * nothing is sent twice but the batches in flight, and after a power loss at most the rest of a log
 * file. A restarted collector sends its unsent batches first, in order. The spool is bounded in
 * bytes: only when the bound is hit are the oldest log files dropped, and each batch in them is
 * counted and reported with its topic and seq, so the gap downstream is explained.
 *
 * Bodies written by this process stay in memory (up to `memoryBytes`), so forwarding does not read
 * back what it just wrote. What earlier versions left (segment files, one-batch files) is read and
 * sent first.
 *
 * Grouping appends into writes is group-commit.ts; rebuilding the index at start is spool-scan.ts;
 * the bytes of a frame are segment-file.ts.
 */
import { fdatasyncSync, writeSync, writevSync } from 'node:fs';
import { mkdir, open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { componentLogger } from '../../core/logger.js';
import { GroupCommit, type Group } from './group-commit.js';
import { decodeLegacyBatch, decodeSegment, encodeSegment, FRAME_HEADER, frameHeader, spooledSize, type SpooledBatch } from './segment-file.js';
import { FORWARDED, logName, scanSpoolDir, type Frame, type SpoolFile } from './spool-scan.js';

/** A spooled batch handed to the forwarder; give it back to `remove` once the bus took it. */
export interface SpoolEntry extends SpooledBatch {
  position: number;
  /** Bytes it takes in its frame. */
  bytes: number;
}

export interface SpoolStats {
  batches: number;
  /** Bytes of the frames holding unsent batches. */
  bytes: number;
  /** Bytes of the spool's files (with sent frames of files still in use); the bound applies to these. */
  diskBytes: number;
  droppedBatches: number;
  /** topic → seq numbers dropped because the bound was hit (most recent 1000 kept). */
  dropped: { topic: string; seq: number }[];
  /** Group commits (fdatasync'ed frames) so far, and the batches they held. */
  commits: number;
  committedBatches: number;
}

export interface SpoolDirOptions {
  /** Bodies kept in memory for forwarding, in bytes. @default 16 MiB */
  memoryBytes?: number;
  /** Largest frame: a group above it is written as several. @default 512 KiB */
  segmentMaxBytes?: number;
  /**
   * Write and fdatasync each group on the event loop (one system call each) instead of through
   * libuv's thread pool. For a collector's spool, written once a second, the two thread-pool round
   * trips (and the forward marker's) cost more CPU than the writes themselves: 0.52 ms against
   * 0.28 ms of process CPU per second of the default set (docs/DECISIONS.md). The loop waits for
   * the disk's flush meanwhile (1.5–3 ms here), which a collector, whose sampler reads on a thread
   * of its own, can afford; a process with many spools (loadgen) would wait for each in turn and
   * keeps the thread pool. @default false
   */
  writeOnLoop?: boolean;
}

export class SpoolDir {
  private readonly frames: Frame[] = [];
  private readonly files: SpoolFile[] = [];
  /** Positions below it are in written frames (or were given up). */
  private writtenThrough = 0;
  private nextLog = 0;
  private active: { file: SpoolFile; handle: FileHandle; broken: boolean } | null = null;
  private marker: FileHandle | null = null;
  private markerValue = -1;
  private readonly log = componentLogger('collector.spool');
  private readonly commits: GroupCommit;
  private opened = false;
  private closed = false;
  private heldBytes = 0;
  private readonly memoryBytes: number;
  private readonly fileMaxBytes: number;
  private readonly onLoop: boolean;
  readonly stats: SpoolStats = { batches: 0, bytes: 0, diskBytes: 0, droppedBatches: 0, dropped: [], commits: 0, committedBatches: 0 };

  /** @param maxBytes bound of the spool on disk. */
  constructor(readonly dir: string, private readonly maxBytes: number, o: SpoolDirOptions = {}) {
    this.memoryBytes = o.memoryBytes ?? 16 * 1024 * 1024;
    this.fileMaxBytes = Math.max(1, Math.min(8 * 1024 * 1024, Math.floor(maxBytes / 8)));
    this.onLoop = o.writeOnLoop ?? false;
    this.commits = new GroupCommit(
      o.segmentMaxBytes ?? 512 * 1024,
      (g) => this.write(g),
      () => (this.writtenThrough = this.commits.nextPosition), // the failed groups' positions are given up
    );
  }

  /** Finds what a previous run left behind (it is sent first). */
  async open(): Promise<void> {
    if (this.opened) return; // once: a second look would index the same files twice
    this.opened = true;
    await mkdir(this.dir, { recursive: true });
    const found = await scanSpoolDir(this.dir, this.log);
    this.nextLog = found.nextLog;
    for (const { file, frames } of found.files) this.addFile(file, frames, found.forwarded);
    const last = this.frames.at(-1);
    this.commits.nextPosition = this.writtenThrough = Math.max(found.forwarded, last ? last.position + last.count : 0);
    if (this.stats.batches > 0) this.log.info({ batches: this.stats.batches, bytes: this.stats.bytes }, `Found ${this.stats.batches} unsent batches in the spool ${this.dir}; they are sent first.`);
  }

  /** Indexes a file found at open: its frames past `forwarded`; a file with none left goes. */
  private addFile(file: SpoolFile, frames: Frame[], forwarded: number): void {
    this.files.push(file);
    this.stats.diskBytes += file.bytes;
    for (const f of frames) {
      for (let i = 0; i < f.count && f.position + i < forwarded; i++) {
        f.done[i] = 1;
        f.live--;
      }
      if (f.live === 0) continue;
      this.frames.push(f);
      file.liveFrames++;
      this.stats.batches += f.live;
      this.stats.bytes += f.length;
    }
    // Everything in it was taken: it goes (if that fails, it is only looked at again next start).
    if (file.liveFrames === 0) void this.removeFile(file).catch(() => undefined);
  }

  /**
   * Stores a batch durably: resolves once the frame holding it is fdatasync'ed. Batches appended
   * before the current write finishes share the next one. Drops the oldest log files if the spool
   * would exceed its bound.
   */
  append(topic: string, seq: number, key: string | null, body: Buffer): Promise<void> {
    const bytes = spooledSize(Buffer.byteLength(topic), key === null ? 0 : Buffer.byteLength(key), body.length);
    return this.commits.add({ topic, seq, key, body }, bytes);
  }

  private async write(g: Group): Promise<void> {
    const count = g.batches.length;
    const payload = encodeSegment(g.batches);
    const header = frameHeader(payload, g.position, count);
    const length = FRAME_HEADER + g.bytes;
    if (!this.active || this.active.broken || (this.active.file.bytes > 0 && this.active.file.bytes + length > this.fileMaxBytes)) await this.roll();
    const active = this.active!;
    const file = active.file;
    const offset = file.bytes;
    try {
      const bytesWritten = this.onLoop ? writevSync(active.handle.fd, [header, ...payload], offset) : (await active.handle.writev([header, ...payload], offset)).bytesWritten;
      if (bytesWritten !== length) throw new Error(`spool: wrote ${bytesWritten} of ${length} bytes to ${file.path}`);
      if (this.onLoop) fdatasyncSync(active.handle.fd);
      else await active.handle.datasync();
    } catch (err) {
      active.broken = true; // nothing acknowledged may follow a torn frame in the same file
      throw err;
    } finally {
      // What was written counts on disk even if it failed, until the file goes.
      const grown = Math.max(file.bytes, offset + length);
      this.stats.diskBytes += grown - file.bytes;
      file.bytes = grown;
    }
    this.writtenThrough = g.position + count;
    const held = this.heldBytes + g.bytes <= this.memoryBytes;
    if (held) this.heldBytes += g.bytes;
    this.frames.push({ file, offset, length, position: g.position, count, meta: g.meta, batches: held ? g.batches : null, held, done: new Uint8Array(count), live: count });
    file.liveFrames++;
    this.stats.batches += count;
    this.stats.bytes += length;
    this.stats.commits++;
    this.stats.committedBatches += count;
    while (this.stats.diskBytes > this.maxBytes && this.files.length > 1 && this.files[0] !== file) await this.dropOldest();
  }

  /** Starts a new log file; its directory entry is durable before anything is written to it. */
  private async roll(): Promise<void> {
    const old = this.active;
    this.active = null;
    if (old) {
      old.file.writing = false;
      await old.handle.close().catch(() => undefined);
      if (old.file.liveFrames === 0) await this.removeFile(old.file);
    }
    const path = join(this.dir, logName(this.nextLog++));
    const handle = await open(path, 'wx+');
    try {
      await this.syncDir();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    const file: SpoolFile = { path, kind: 'log', bytes: 0, liveFrames: 0, writing: true, cache: null };
    this.files.push(file);
    this.active = { file, handle, broken: false };
  }

  /**
   * The oldest batches not yet taken, in order: whole frames while they fit in `maxBytes`, else the
   * first frame's remaining batches up to it; at least one batch, or none when the spool is empty.
   */
  async next(maxBytes: number): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    let bytes = 0;
    for (let s = 0; s < this.frames.length; s++) {
      const frame = this.frames[s]!;
      let frameBytes = frame.length; // a frame of an earlier run not read yet: its whole length
      if (frame.meta) {
        frameBytes = 0;
        for (let i = 0; i < frame.count; i++) if (!frame.done[i]) frameBytes += frame.meta[i]!.bytes;
      }
      if (out.length > 0 && bytes + frameBytes > maxBytes) break;
      const batches = await this.batchesOf(frame);
      if (this.frames[s] !== frame) return this.next(maxBytes); // the bound dropped the head while it was read: start again
      if (!batches) {
        s--; // unreadable: counted as dropped and taken out of the list
        continue;
      }
      const meta = frame.meta!;
      for (let i = 0; i < frame.count; i++) {
        if (frame.done[i]) continue;
        if (out.length > 0 && bytes + meta[i]!.bytes > maxBytes) return out;
        out.push({ ...batches[i]!, position: frame.position + i, bytes: meta[i]!.bytes });
        bytes += meta[i]!.bytes;
      }
    }
    return out;
  }

  /** The oldest batch not yet taken, or null. */
  async oldest(): Promise<SpoolEntry | null> {
    return (await this.next(0))[0] ?? null;
  }

  /** Forgets batches the bus has taken; a log file goes with its last batch once it is not written. */
  async remove(entries: { position: number } | readonly { position: number }[]): Promise<void> {
    for (const e of Array.isArray(entries) ? entries : [entries]) {
      const frame = this.frameOf(e.position);
      if (!frame) continue; // dropped meanwhile
      const i = e.position - frame.position;
      if (frame.done[i]) continue;
      frame.done[i] = 1;
      frame.live--;
      this.stats.batches--;
      if (frame.live === 0) await this.forget(frame);
    }
    await this.writeMarker();
  }

  private frameOf(position: number): Frame | undefined {
    // Removals come from the head: the loop ends there.
    for (const f of this.frames) if (position >= f.position && position < f.position + f.count) return f;
    return undefined;
  }

  /** The batches of a frame, read from its file if they are not in memory; null if it cannot be read. */
  private async batchesOf(frame: Frame): Promise<SpooledBatch[] | null> {
    if (frame.batches) return frame.batches;
    const file = frame.file;
    let batches: SpooledBatch[];
    try {
      let raw: Buffer;
      if (file.writing && this.active?.file === file) {
        // Still growing (its frames were past the memory budget): read just this frame.
        raw = Buffer.allocUnsafe(frame.length);
        const { bytesRead } = await this.active.handle.read(raw, 0, frame.length, frame.offset);
        if (bytesRead !== frame.length) throw new Error(`read ${bytesRead} of ${frame.length} bytes at ${frame.offset}`);
      } else {
        file.cache ??= await readFile(file.path); // a finished file: its frames go out one after another
        raw = file.cache.subarray(frame.offset, frame.offset + frame.length);
      }
      if (file.kind === 'batch') batches = [decodeLegacyBatch(raw, frame.meta![0]!.topic, frame.meta![0]!.seq)];
      else batches = decodeSegment(file.kind === 'log' ? raw.subarray(FRAME_HEADER) : raw, file.path);
      if (batches.length !== frame.count) throw new Error(`spool file ${file.path} holds ${batches.length} batches at byte ${frame.offset}, ${frame.count} were expected`);
    } catch (err) {
      if (!this.frames.includes(frame)) return null;
      this.log.error({ err, file: file.path }, `Cannot read ${frame.live} spooled batches from ${file.path}; they are dropped (counted in collector.dropped_batches).`);
      this.stats.droppedBatches += frame.live;
      this.stats.batches -= frame.live;
      frame.live = 0;
      await this.forget(frame);
      return null;
    }
    frame.meta ??= batches.map((b) => ({ topic: b.topic, seq: b.seq, bytes: spooledSize(Buffer.byteLength(b.topic), b.key === null ? 0 : Buffer.byteLength(b.key), b.body.length) }));
    frame.batches = batches; // about to be forwarded (not counted in the budget: the file's bytes are)
    return batches;
  }

  private async forget(frame: Frame): Promise<void> {
    const i = this.frames.indexOf(frame);
    if (i < 0) return;
    this.frames.splice(i, 1);
    this.stats.bytes -= frame.length;
    if (frame.held) this.heldBytes -= frame.length - FRAME_HEADER;
    frame.batches = null;
    if (--frame.file.liveFrames === 0 && !frame.file.writing) await this.removeFile(frame.file);
  }

  private async removeFile(file: SpoolFile): Promise<void> {
    const i = this.files.indexOf(file);
    if (i < 0) return;
    this.files.splice(i, 1);
    this.stats.diskBytes -= file.bytes;
    file.cache = null;
    // unlink, not rm: rm stats first, and each file-system call costs a trip through libuv's pool.
    await unlink(file.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Records how far the bus took everything (no fsync: losing it only means sending some again). */
  private async writeMarker(): Promise<void> {
    if (this.closed) return;
    const value = this.frames[0] ? this.frames[0].position + this.frames[0].done.indexOf(0) : this.writtenThrough;
    if (value <= this.markerValue) return;
    this.markerValue = value;
    this.marker ??= await open(join(this.dir, FORWARDED), 'w');
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigUInt64BE(BigInt(value), 0);
    if (this.onLoop) writeSync(this.marker.fd, buf, 0, 8, 0);
    else await this.marker.write(buf, 0, 8, 0);
  }

  /** Drops the oldest file: every batch in it not yet taken is counted and logged. */
  private async dropOldest(): Promise<void> {
    const file = this.files[0]!;
    const frames = this.frames.filter((f) => f.file === file);
    const lost: { topic: string; seq: number }[] = [];
    let unknown = 0;
    for (const f of frames) {
      if (!f.meta && (await this.batchesOf(f)) === null) continue; // to say which seqs go (an unreadable one is counted there)
      if (!this.frames.includes(f)) continue;
      if (f.meta) {
        for (let i = 0; i < f.count; i++) if (!f.done[i]) lost.push({ topic: f.meta[i]!.topic, seq: f.meta[i]!.seq });
      } else unknown += f.live;
      this.stats.batches -= f.live;
      this.stats.droppedBatches += f.live;
      f.live = 0;
      const i = this.frames.indexOf(f);
      this.frames.splice(i, 1);
      this.stats.bytes -= f.length;
      if (f.held) this.heldBytes -= f.length - FRAME_HEADER;
    }
    for (const b of lost) this.stats.dropped.push(b);
    if (this.stats.dropped.length > 1000) this.stats.dropped.splice(0, this.stats.dropped.length - 1000);
    await this.removeFile(file);
    if (lost.length + unknown === 0) return;
    const seqs = lost.length > 0 ? `${lost[0]!.topic} seq ${lost[0]!.seq}${lost.length > 1 ? ` to ${lost.at(-1)!.topic} seq ${lost.at(-1)!.seq}` : ''}` : 'seqs unknown';
    const n = lost.length + unknown;
    this.log.error({ batches: n, first: lost[0], last: lost.at(-1), maxBytes: this.maxBytes }, `The spool reached its bound of ${this.maxBytes} bytes; dropped the oldest ${n === 1 ? 'batch' : `${n} batches`} (${seqs}).`);
  }

  /** Closes the files it keeps open (the spool can be opened again by a new SpoolDir). */
  async close(): Promise<void> {
    this.closed = true;
    await this.commits.settled();
    const active = this.active;
    this.active = null;
    if (active) {
      active.file.writing = false;
      await active.handle.close().catch(() => undefined);
      if (active.file.liveFrames === 0) await this.removeFile(active.file);
    }
    await this.marker?.close().catch(() => undefined);
    this.marker = null;
  }

  private async syncDir(): Promise<void> {
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
