/**
 * The collector's on-disk spool: one file per batch, named `<position>.<topic>.<seq>.batch`, written
 * and fdatasync'ed (file and directory) before `append` resolves, removed once the bus took it. A
 * crashed or restarted collector finds its unsent batches here and sends them first, in order. The
 * spool is bounded in bytes: only when the bound is hit are the oldest batches dropped, and each drop
 * is counted and reported with its topic and seq, so the gap downstream is explained.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { componentLogger } from '../../core/logger.js';

export interface SpoolEntry {
  position: number;
  topic: string;
  seq: number;
  key: string | null;
  body: Buffer;
  bytes: number;
  file: string;
}

export interface SpoolStats {
  batches: number;
  bytes: number;
  droppedBatches: number;
  /** topic → seq numbers dropped because the bound was hit (most recent 1000 kept). */
  dropped: { topic: string; seq: number }[];
}

const NAME = /^(\d{16})\.([A-Za-z0-9._-]+)\.(\d+)\.batch$/;

export class SpoolDir {
  private readonly index: { position: number; topic: string; seq: number; bytes: number; file: string }[] = [];
  private next = 0;
  private readonly log = componentLogger('collector.spool');
  readonly stats: SpoolStats = { batches: 0, bytes: 0, droppedBatches: 0, dropped: [] };

  /** @param maxBytes bound of the spool on disk. */
  constructor(readonly dir: string, private readonly maxBytes: number) {}

  /** Finds the batches a previous run left behind (they are sent first). */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of (await readdir(this.dir)).sort()) {
      const m = NAME.exec(name);
      if (!m) {
        if (name.endsWith('.tmp')) await rm(join(this.dir, name), { force: true }); // torn write of a crash
        continue;
      }
      const file = join(this.dir, name);
      const bytes = (await stat(file)).size;
      this.index.push({ position: Number(m[1]), topic: m[2]!, seq: Number(m[3]), bytes, file });
      this.stats.bytes += bytes;
    }
    this.stats.batches = this.index.length;
    this.next = (this.index.at(-1)?.position ?? -1) + 1;
    if (this.index.length > 0) this.log.info({ batches: this.index.length, bytes: this.stats.bytes }, `Found ${this.index.length} unsent batches in the spool ${this.dir}; they are sent first.`);
  }

  /** Stores a batch durably; drops the oldest batches if the spool would exceed its bound. */
  async append(topic: string, seq: number, key: string | null, body: Buffer): Promise<void> {
    const position = this.next++;
    const name = `${String(position).padStart(16, '0')}.${topic}.${seq}.batch`;
    const file = join(this.dir, name);
    const keyBytes = Buffer.from(key ?? '', 'utf8');
    const header = Buffer.alloc(5);
    header.writeUInt8(key === null ? 0 : 1, 0);
    header.writeUInt32BE(keyBytes.length, 1);
    const handle = await open(`${file}.tmp`, 'w');
    try {
      await handle.writev([header, keyBytes, body]);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(`${file}.tmp`, file);
    await this.syncDir();
    const bytes = header.length + keyBytes.length + body.length;
    this.index.push({ position, topic, seq, bytes, file });
    this.stats.batches++;
    this.stats.bytes += bytes;
    while (this.stats.bytes > this.maxBytes && this.index.length > 1) await this.dropOldest();
  }

  /** The oldest unsent batch, or null. */
  async oldest(): Promise<SpoolEntry | null> {
    const e = this.index[0];
    if (!e) return null;
    const raw = await readFile(e.file);
    const hasKey = raw.readUInt8(0) === 1;
    const keyLength = raw.readUInt32BE(1);
    return { ...e, key: hasKey ? raw.subarray(5, 5 + keyLength).toString('utf8') : null, body: raw.subarray(5 + keyLength) };
  }

  /** Forgets a batch the bus has taken. */
  async remove(entry: { position: number }): Promise<void> {
    const i = this.index.findIndex((e) => e.position === entry.position);
    if (i < 0) return; // dropped meanwhile
    const [e] = this.index.splice(i, 1);
    this.stats.batches--;
    this.stats.bytes -= e!.bytes;
    await rm(e!.file, { force: true });
  }

  private async dropOldest(): Promise<void> {
    const e = this.index.shift()!;
    this.stats.batches--;
    this.stats.bytes -= e.bytes;
    this.stats.droppedBatches++;
    this.stats.dropped.push({ topic: e.topic, seq: e.seq });
    if (this.stats.dropped.length > 1000) this.stats.dropped.shift();
    await rm(e.file, { force: true });
    this.log.error({ topic: e.topic, seq: e.seq, maxBytes: this.maxBytes }, `The spool reached its bound of ${this.maxBytes} bytes; dropped the oldest batch (${e.topic} seq ${e.seq}).`);
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
