/**
 * Reads the kernel log from /dev/kmsg (Documentation/ABI/testing/dev-kmsg): one record per read(),
 * `level,seq,usec,flags;text` followed by ` KEY=value` dictionary lines, which are dropped here. The
 * record sequence numbers make restarts exact: the last sequence number handed out is saved with
 * the kernel's boot id, and a restarted reader skips everything up to it (after a reboot, when the
 * boot id differs, it starts from the beginning of the new boot's log). Records the kernel dropped
 * from its ring buffer before we read them show up as a gap in the sequence and are counted.
 */
import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { componentLogger } from '../../../core/logger.js';
import type { Lifecycle } from '../../../schema/lifecycle.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';

export interface KmsgReaderOptions {
  /** Where the last sequence number is kept across restarts. */
  checkpointPath: string;
  /** @default '/dev/kmsg' */
  path?: string;
  /** File holding the kernel's boot id. @default '/proc/sys/kernel/random/boot_id' */
  bootIdPath?: string;
  /** Where to start when there is no checkpoint for this boot. @default 'beginning' (all of the ring buffer) */
  startAt?: 'beginning' | 'end';
}

interface KmsgPosition {
  v: 1;
  bootId: string;
  /** Sequence number of the last record handed out. */
  seq: number;
}

const RECORD = /^\d+,(\d+),/;
const MAX_RECORD = 16_384; // above the kernel's CONSOLE_EXT_LOG_MAX (8 KiB)

/** Reads /dev/kmsg; see the module comment. */
export class KmsgReader implements Lifecycle {
  private fh: FileHandle | null = null;
  private bootId = '';
  private lastSeq = -1;
  private readonly buf = Buffer.alloc(MAX_RECORD);
  private readonly log = componentLogger('kmsg-reader');
  /** Records skipped as already read, records lost in the kernel's ring buffer, and EPIPE overruns. */
  readonly stats = { skipped: 0, lost: 0, overruns: 0 };

  constructor(private readonly o: KmsgReaderOptions) {}

  async start(): Promise<void> {
    if (this.fh) return;
    const path = this.o.path ?? '/dev/kmsg';
    this.bootId = (await readFile(this.o.bootIdPath ?? '/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    try {
      this.fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new Error(`cannot open ${path} for reading (${(err as Error).message}); the kernel log needs root or CAP_SYSLOG`);
    }
    const cp = await readCheckpoint<KmsgPosition>(this.o.checkpointPath);
    if (cp && (cp.v !== 1 || typeof cp.bootId !== 'string' || !Number.isSafeInteger(cp.seq))) {
      throw new Error(`checkpoint ${this.o.checkpointPath}: expected {"v":1,"bootId":"…","seq":N}, got ${JSON.stringify(cp)}`);
    }
    if (cp && cp.bootId === this.bootId) this.lastSeq = cp.seq;
    else if ((this.o.startAt ?? 'beginning') === 'end') this.lastSeq = (await this.readAvailable()).at(-1)?.seq ?? -1;
    else if (cp) this.log.info({ was: cp.bootId, now: this.bootId }, 'The kernel rebooted since the last run; reading its log from the beginning.');
  }

  /** Records not handed out before, as `level,seq,usec,flags;text` lines (possibly none). */
  async read(): Promise<string[]> {
    if (!this.fh) throw new Error('kmsg reader: read() before start()');
    const lines: string[] = [];
    for (const r of await this.readAvailable()) {
      if (r.seq <= this.lastSeq) {
        this.stats.skipped++;
        continue;
      }
      if (this.lastSeq >= 0 && r.seq > this.lastSeq + 1) {
        this.stats.lost += r.seq - this.lastSeq - 1;
        this.log.warn({ from: this.lastSeq + 1, to: r.seq - 1 }, `The kernel overwrote ${r.seq - this.lastSeq - 1} log records before they were read.`);
      }
      this.lastSeq = r.seq;
      lines.push(r.line);
    }
    return lines;
  }

  private async readAvailable(): Promise<{ seq: number; line: string }[]> {
    const out: { seq: number; line: string }[] = [];
    for (;;) {
      let n: number;
      try {
        n = (await this.fh!.read(this.buf, 0, MAX_RECORD, null)).bytesRead;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return out;
        if (code === 'EPIPE') {
          this.stats.overruns++;
          continue;
        }
        throw err;
      }
      if (n === 0) return out;
      const text = this.buf.toString('utf8', 0, n);
      const nl = text.indexOf('\n');
      const line = nl === -1 ? text : text.slice(0, nl);
      const m = RECORD.exec(line);
      if (m) out.push({ seq: Number(m[1]), line });
    }
  }

  /** Saves the sequence number of the last record handed out. */
  async commit(): Promise<void> {
    if (this.lastSeq < 0) return;
    const pos: KmsgPosition = { v: 1, bootId: this.bootId, seq: this.lastSeq };
    await writeCheckpoint(this.o.checkpointPath, pos);
  }

  /** Saves the position and closes /dev/kmsg. Safe without start, and twice. */
  async shutdown(): Promise<void> {
    if (!this.fh) return;
    await this.commit();
    await this.fh.close();
    this.fh = null;
  }
}
