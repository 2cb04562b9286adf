/**
 * The collector's on-disk spool. Batches appended at the same moment are made durable together
 * (group commit): one segment file `<position>.<count>.seg` per group, written to `.tmp`,
 * fdatasync'ed, renamed and the directory fsync'ed, and every `append` of the group resolves only
 * after that. A segment file goes once every batch in it was taken by the bus (or dropped). A crashed
 * or restarted collector finds its unsent segments here and sends them first, in order. The spool
 * is bounded in bytes: only when the bound is hit are the oldest segments dropped, and each batch in
 * them is counted and reported with its topic and seq, so the gap downstream is explained.
 *
 * Bodies of segments written by this process stay in memory (up to `memoryBytes`), so forwarding
 * does not read back what it just wrote; older segments are read from disk when their turn comes.
 * Batch files of older versions (`<position>.<topic>.<seq>.batch`, one batch each) are still read.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { componentLogger } from '../../core/logger.js';
import { decodeLegacyBatch, decodeSegment, encodeSegment, spooledSize, type SpooledBatch } from './segment-file.js';

/** A spooled batch handed to the forwarder; give it back to `remove` once the bus took it. */
export interface SpoolEntry extends SpooledBatch {
  position: number;
  /** Bytes it takes in its segment. */
  bytes: number;
}

export interface SpoolStats {
  batches: number;
  /** Bytes of the segment files on disk. */
  bytes: number;
  droppedBatches: number;
  /** topic → seq numbers dropped because the bound was hit (most recent 1000 kept). */
  dropped: { topic: string; seq: number }[];
  /** Group commits (segment files written) so far, and the batches they held. */
  commits: number;
  committedBatches: number;
}

export interface SpoolDirOptions {
  /** Bodies kept in memory for forwarding, in bytes. @default 16 MiB */
  memoryBytes?: number;
  /** Largest segment: a group above it is split into several. @default 512 KiB */
  segmentMaxBytes?: number;
}

interface BatchMeta {
  topic: string;
  seq: number;
  bytes: number;
}

interface Segment {
  position: number;
  count: number;
  file: string;
  /** Size of the file. */
  bytes: number;
  /** Topic, seq and size of each batch; null for a segment of an earlier run not read yet. */
  meta: BatchMeta[] | null;
  /** The batches with their bodies, while in memory. */
  batches: SpooledBatch[] | null;
  /** Whether `batches` counts against the memory budget. */
  held: boolean;
  /** Batches the bus took (or that were dropped), by index. */
  done: Uint8Array;
  live: number;
  /** One-batch file of an older version. */
  legacy: boolean;
}

interface Group {
  position: number;
  batches: SpooledBatch[];
  meta: BatchMeta[];
  bytes: number;
  settle: { resolve: () => void; reject: (err: unknown) => void };
  done: Promise<void>;
}

const SEGMENT = /^(\d{16})\.(\d+)\.seg$/;
const LEGACY = /^(\d{16})\.([A-Za-z0-9._-]+)\.(\d+)\.batch$/;

export class SpoolDir {
  private readonly segments: Segment[] = [];
  private nextPosition = 0;
  private readonly log = componentLogger('collector.spool');
  private collecting: Group | null = null;
  private readonly queued: Group[] = [];
  private writing: Promise<void> | null = null;
  private opened = false;
  private heldBytes = 0;
  private readonly memoryBytes: number;
  private readonly segmentMaxBytes: number;
  readonly stats: SpoolStats = { batches: 0, bytes: 0, droppedBatches: 0, dropped: [], commits: 0, committedBatches: 0 };

  /** @param maxBytes bound of the spool on disk. */
  constructor(readonly dir: string, private readonly maxBytes: number, o: SpoolDirOptions = {}) {
    this.memoryBytes = o.memoryBytes ?? 16 * 1024 * 1024;
    this.segmentMaxBytes = o.segmentMaxBytes ?? 512 * 1024;
  }

  /** Finds the segments a previous run left behind (they are sent first). */
  async open(): Promise<void> {
    if (this.opened) return; // once: a second look would index the same files twice
    this.opened = true;
    await mkdir(this.dir, { recursive: true });
    for (const name of (await readdir(this.dir)).sort()) {
      if (name.endsWith('.tmp')) {
        await rm(join(this.dir, name), { force: true }); // torn write of a crash: its appends never resolved
        continue;
      }
      const seg = SEGMENT.exec(name);
      const legacy = seg ? null : LEGACY.exec(name);
      if (!seg && !legacy) continue;
      const file = join(this.dir, name);
      const bytes = (await stat(file)).size;
      const count = seg ? Number(seg[2]) : 1;
      const meta = legacy ? [{ topic: legacy[2]!, seq: Number(legacy[3]), bytes }] : null;
      this.segments.push({ position: Number((seg ?? legacy)![1]), count, file, bytes, meta, batches: null, held: false, done: new Uint8Array(count), live: count, legacy: !!legacy });
      this.stats.bytes += bytes;
      this.stats.batches += count;
    }
    const last = this.segments.at(-1);
    this.nextPosition = last ? last.position + last.count : 0;
    if (this.segments.length > 0) this.log.info({ batches: this.stats.batches, bytes: this.stats.bytes }, `Found ${this.stats.batches} unsent batches in the spool ${this.dir}; they are sent first.`);
  }

  /**
   * Stores a batch durably: resolves once the segment holding it is fdatasync'ed and named. Batches
   * appended before the current write finishes share the next one. Drops the oldest segments if the
   * spool would exceed its bound.
   */
  append(topic: string, seq: number, key: string | null, body: Buffer): Promise<void> {
    const bytes = spooledSize(Buffer.byteLength(topic), key === null ? 0 : Buffer.byteLength(key), body.length);
    let g = this.collecting;
    if (g && g.bytes + bytes > this.segmentMaxBytes) {
      this.queued.push(g);
      g = null;
    }
    if (!g) {
      let settle!: Group['settle'];
      const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      g = this.collecting = { position: this.nextPosition, batches: [], meta: [], bytes: 0, settle, done };
    }
    this.nextPosition++;
    g.batches.push({ topic, seq, key, body });
    g.meta.push({ topic, seq, bytes });
    g.bytes += bytes;
    this.writing ??= this.writeGroups();
    return g.done;
  }

  private async writeGroups(): Promise<void> {
    await null; // every append of the current synchronous run joins the first group
    for (;;) {
      const g = this.queued.shift() ?? this.collecting;
      if (!g) {
        this.writing = null; // in the same synchronous step as the check, so no append is left waiting
        return;
      }
      if (g === this.collecting) this.collecting = null;
      try {
        await this.write(g);
      } catch (err) {
        // Later groups were appended after this one: writing them would put them ahead of its retry.
        for (const later of [g, ...this.queued.splice(0), ...(this.collecting ? [this.collecting] : [])]) later.settle.reject(err);
        this.collecting = null;
        this.writing = null;
        return;
      }
      g.settle.resolve();
    }
  }

  private async write(g: Group): Promise<void> {
    const count = g.batches.length;
    const file = join(this.dir, `${String(g.position).padStart(16, '0')}.${count}.seg`);
    const buffers = encodeSegment(g.batches);
    const handle = await open(`${file}.tmp`, 'w');
    try {
      const { bytesWritten } = await handle.writev(buffers);
      if (bytesWritten !== g.bytes) throw new Error(`spool: wrote ${bytesWritten} of ${g.bytes} bytes to ${file}.tmp`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(`${file}.tmp`, file);
    await this.syncDir();
    const held = this.heldBytes + g.bytes <= this.memoryBytes;
    if (held) this.heldBytes += g.bytes;
    this.segments.push({ position: g.position, count, file, bytes: g.bytes, meta: g.meta, batches: held ? g.batches : null, held, done: new Uint8Array(count), live: count, legacy: false });
    this.stats.batches += count;
    this.stats.bytes += g.bytes;
    this.stats.commits++;
    this.stats.committedBatches += count;
    while (this.stats.bytes > this.maxBytes && this.segments.length > 1) await this.dropOldest();
  }

  /**
   * The oldest batches not yet taken, in order: whole segments while they fit in `maxBytes`, else
   * the first segment's remaining batches up to it; at least one batch, or none when the spool is empty.
   */
  async next(maxBytes: number): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    let bytes = 0;
    for (let s = 0; s < this.segments.length; s++) {
      const seg = this.segments[s]!;
      if (seg.live === 0) continue;
      let segBytes = seg.bytes; // a segment of an earlier run not read yet: its file size
      if (seg.meta) {
        segBytes = 0;
        for (let i = 0; i < seg.count; i++) if (!seg.done[i]) segBytes += seg.meta[i]!.bytes;
      }
      if (out.length > 0 && bytes + segBytes > maxBytes) break;
      const batches = await this.batchesOf(seg);
      if (this.segments[s] !== seg) return this.next(maxBytes); // the bound dropped the head while it was read: start again
      const meta = seg.meta!;
      for (let i = 0; i < seg.count; i++) {
        if (seg.done[i]) continue;
        if (out.length > 0 && bytes + meta[i]!.bytes > maxBytes) return out;
        out.push({ ...batches[i]!, position: seg.position + i, bytes: meta[i]!.bytes });
        bytes += meta[i]!.bytes;
      }
    }
    return out;
  }

  /** The oldest batch not yet taken, or null. */
  async oldest(): Promise<SpoolEntry | null> {
    return (await this.next(0))[0] ?? null;
  }

  /** Forgets batches the bus has taken; a segment file goes with its last batch. */
  async remove(entries: { position: number } | readonly { position: number }[]): Promise<void> {
    for (const e of Array.isArray(entries) ? entries : [entries]) {
      const seg = this.segmentOf(e.position);
      if (!seg) continue; // dropped meanwhile
      const i = e.position - seg.position;
      if (seg.done[i]) continue;
      seg.done[i] = 1;
      seg.live--;
      this.stats.batches--;
      if (seg.live === 0) await this.forget(seg);
    }
  }

  private segmentOf(position: number): Segment | undefined {
    // Removals come from the head: look there first.
    for (const seg of this.segments) if (position >= seg.position && position < seg.position + seg.count) return seg;
    return undefined;
  }

  /** The batches of a segment, read from its file if they are not in memory. */
  private async batchesOf(seg: Segment): Promise<SpooledBatch[]> {
    if (seg.batches) return seg.batches;
    const raw = await readFile(seg.file);
    const batches = seg.legacy ? [decodeLegacyBatch(raw, seg.meta![0]!.topic, seg.meta![0]!.seq)] : decodeSegment(raw, seg.file);
    if (batches.length !== seg.count) throw new Error(`spool segment ${seg.file} holds ${batches.length} batches, its name says ${seg.count}`);
    seg.meta ??= batches.map((b) => ({ topic: b.topic, seq: b.seq, bytes: spooledSize(Buffer.byteLength(b.topic), b.key === null ? 0 : Buffer.byteLength(b.key), b.body.length) }));
    seg.batches = batches; // read once: it is about to be forwarded (not counted in the budget)
    return batches;
  }

  private async forget(seg: Segment): Promise<void> {
    const i = this.segments.indexOf(seg);
    if (i < 0) return;
    this.segments.splice(i, 1);
    this.stats.bytes -= seg.bytes;
    if (seg.held) this.heldBytes -= seg.bytes;
    seg.batches = null;
    // unlink, not rm: rm stats first, and each file-system call costs a trip through libuv's pool.
    await unlink(seg.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private async dropOldest(): Promise<void> {
    const seg = this.segments[0]!;
    if (!seg.meta) await this.batchesOf(seg).catch(() => undefined); // to say which seqs go
    const lost = (seg.meta ?? []).filter((_, i) => !seg.done[i]);
    this.stats.batches -= seg.live;
    this.stats.droppedBatches += seg.live;
    for (const b of lost) this.stats.dropped.push({ topic: b.topic, seq: b.seq });
    if (this.stats.dropped.length > 1000) this.stats.dropped.splice(0, this.stats.dropped.length - 1000);
    seg.live = 0;
    seg.done.fill(1);
    await this.forget(seg);
    const seqs = lost.length > 0 ? `${lost[0]!.topic} seq ${lost[0]!.seq}${lost.length > 1 ? ` to ${lost.at(-1)!.topic} seq ${lost.at(-1)!.seq}` : ''}` : `${seg.count} batches of an unreadable segment`;
    this.log.error({ batches: lost.length, first: lost[0], last: lost.at(-1), maxBytes: this.maxBytes }, `The spool reached its bound of ${this.maxBytes} bytes; dropped the oldest ${lost.length === 1 ? 'batch' : `${lost.length} batches`} (${seqs}).`);
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
