/**
 * Follows a growing log file (a serial-console capture, `pisces_cons` output) the way `tail -F`
 * does, and remembers where it is. Rotation (the file renamed, a new one created) is seen by the
 * inode changing: the old file is read to its end first. Truncation (copytruncate, a rewritten
 * capture) is seen by the size shrinking or the first bytes changing, and reading restarts at 0.
 * `read()` returns complete lines; `commit()` saves the position after the lines read so far, so a
 * restarted collector (even one restarted across a rotation) neither repeats nor skips a line.
 */
import { createHash } from 'node:crypto';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { componentLogger } from '../../../core/logger.js';
import type { Lifecycle } from '../../../schema/lifecycle.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { LineSplitter } from './line-splitter.js';

export interface FileTailerOptions {
  /** File to follow. */
  path: string;
  /** Where the position is kept across restarts (a JSON file). */
  checkpointPath: string;
  /** Where to start when there is no checkpoint. @default 'beginning' */
  startAt?: 'beginning' | 'end';
  /** Longest line kept whole; longer lines are cut. @default 65536 */
  maxLineBytes?: number;
  /** Most bytes read per `read()` call, so a large backlog is handed out in parts. @default 4194304 */
  maxReadBytes?: number;
}

interface Position {
  v: 1;
  dev: number;
  ino: number;
  /** Bytes of the file already returned as lines. */
  offset: number;
  /** sha256 of the first `fpLen` bytes: tells a rewritten file from the one we were reading. */
  fp: string;
  fpLen: number;
}

interface OpenFile {
  fh: FileHandle;
  dev: number;
  ino: number;
  readPos: number;
  splitter: LineSplitter;
  /** The file's first bytes (up to 1 KiB) as read: if they change, the file was rewritten. */
  head: Buffer;
}

const FP_BYTES = 1024;
const CHUNK = 65_536;

/** Follows one file; see the module comment. */
export class FileTailer implements Lifecycle {
  private file: OpenFile | null = null;
  private started = false;
  private readonly log = componentLogger('file-tailer');
  /** Rotations and truncations seen, and lines cut for length. */
  readonly stats = { rotations: 0, truncations: 0, cutLines: 0 };

  constructor(private readonly o: FileTailerOptions) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const cp = await readCheckpoint<Position>(this.o.checkpointPath);
    if (cp && (cp.v !== 1 || !Number.isSafeInteger(cp.offset) || cp.offset < 0)) {
      throw new Error(`checkpoint ${this.o.checkpointPath}: expected {"v":1,"dev","ino","offset","fp","fpLen"}, got ${JSON.stringify(cp)}`);
    }
    if (cp) await this.resume(cp);
    else if ((this.o.startAt ?? 'beginning') === 'end') await this.openPath(true);
  }

  /** Reopens the checkpointed file: at the path, or renamed in the same folder by a rotation. */
  private async resume(cp: Position): Promise<void> {
    const candidates = [this.o.path, ...(await this.siblings())];
    for (const p of candidates) {
      const st = await stat(p).catch(() => null);
      if (!st || st.ino !== cp.ino || st.dev !== cp.dev) continue;
      const fh = await open(p, 'r');
      if (st.size >= cp.offset && (await fingerprint(fh, cp.fpLen)) === cp.fp) {
        const head = await firstBytes(fh, Math.min(FP_BYTES, cp.offset));
        this.file = { fh, dev: st.dev, ino: st.ino, readPos: cp.offset, splitter: new LineSplitter(this.o.maxLineBytes), head };
        this.file.splitter.reset(cp.offset);
        return;
      }
      await fh.close();
    }
    this.log.warn({ path: this.o.path }, `The file read before the restart is gone or was rewritten; reading ${this.o.path} from its beginning.`);
  }

  private async siblings(): Promise<string[]> {
    const dir = dirname(this.o.path);
    const base = basename(this.o.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    return names.filter((n) => n !== base && n.startsWith(base)).map((n) => join(dir, n));
  }

  private async openPath(atEnd = false): Promise<boolean> {
    const fh = await open(this.o.path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!fh) return false;
    const st = await fh.stat();
    const start = atEnd ? st.size : 0;
    const head = await firstBytes(fh, Math.min(FP_BYTES, start));
    this.file = { fh, dev: st.dev, ino: st.ino, readPos: start, splitter: new LineSplitter(this.o.maxLineBytes), head };
    this.file.splitter.reset(start);
    return true;
  }

  /** Complete lines appended since the last call (possibly none). */
  async read(): Promise<string[]> {
    if (!this.started) throw new Error(`file tailer for ${this.o.path}: read() before start()`);
    const lines: string[] = [];
    let budget = this.o.maxReadBytes ?? 4 * 1024 * 1024;
    if (!this.file && !(await this.openPath())) return lines;
    // A file emptied and rewritten since the last call must be seen before reading on from the old offset.
    await this.checkTruncation(this.file!, lines);
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let guard = 0; guard < 1000 && budget > 0; guard++) {
      const f = this.file!;
      const { bytesRead } = await f.fh.read(buf, 0, Math.min(CHUNK, budget), f.readPos);
      if (bytesRead > 0) {
        if (f.head.length < FP_BYTES && f.readPos === f.head.length) {
          f.head = Buffer.concat([f.head, buf.subarray(0, Math.min(bytesRead, FP_BYTES - f.head.length))]);
        }
        f.readPos += bytesRead;
        budget -= bytesRead;
        for (const l of f.splitter.push(buf.subarray(0, bytesRead))) lines.push(l);
        continue;
      }
      if (!(await this.followChanges(f, lines))) break;
    }
    return lines;
  }

  /** At the end of the open file: switches to a rotated-in file or restarts a truncated one. */
  private async followChanges(f: OpenFile, lines: string[]): Promise<boolean> {
    const st = await stat(this.o.path).catch(() => null);
    if (st && (st.ino !== f.ino || st.dev !== f.dev)) {
      const rest = f.splitter.flush();
      if (rest !== null) lines.push(rest);
      this.stats.cutLines += f.splitter.cut;
      await f.fh.close();
      this.file = null;
      this.stats.rotations++;
      return this.openPath();
    }
    return this.checkTruncation(f, lines);
  }

  /** Restarts at 0 when the open file shrank below our offset or its first bytes changed. */
  private async checkTruncation(f: OpenFile, lines: string[]): Promise<boolean> {
    const size = (await f.fh.stat()).size;
    const rewritten = size >= f.readPos && f.head.length > 0 && !(await firstBytes(f.fh, f.head.length)).equals(f.head);
    if (size >= f.readPos && !rewritten) return false;
    const rest = f.splitter.flush();
    if (rest !== null) lines.push(rest);
    f.readPos = 0;
    f.head = Buffer.alloc(0);
    f.splitter.reset(0);
    this.stats.truncations++;
    return true;
  }

  /** Saves the position after the lines returned so far. */
  async commit(): Promise<void> {
    const f = this.file;
    if (!f) return;
    const fpLen = Math.min(f.head.length, f.splitter.consumed);
    const fp = createHash('sha256').update(f.head.subarray(0, fpLen)).digest('hex');
    const pos: Position = { v: 1, dev: f.dev, ino: f.ino, offset: f.splitter.consumed, fp, fpLen };
    await writeCheckpoint(this.o.checkpointPath, pos);
  }

  /** Saves the position and closes the file. Safe without start, and twice. */
  async shutdown(): Promise<void> {
    if (this.file) {
      await this.commit();
      await this.file.fh.close();
      this.file = null;
    }
    this.started = false;
  }
}

async function firstBytes(fh: FileHandle, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = len > 0 ? await fh.read(buf, 0, len, 0) : { bytesRead: 0 };
  return buf.subarray(0, bytesRead);
}

async function fingerprint(fh: FileHandle, len: number): Promise<string> {
  return createHash('sha256').update(await firstBytes(fh, len)).digest('hex');
}
