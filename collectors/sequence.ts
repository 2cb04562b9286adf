/**
 * A collector's batch sequence, kept across restarts in a small state file, so `seq` keeps counting
 * up after a restart: a gap then means lost batches, and a repeated (collector, seq) means a replay.
 * The file holds the next number as fixed-width text, overwritten in place through an open
 * descriptor: at 100 batches/s a write+rename per batch cost 0.24 ms of CPU each (measured), an
 * in-place write of the same 21 bytes a few microseconds.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

const WIDTH = 20;

export class SequenceFile {
  private next: number;
  private fd: number | null = null;

  constructor(private readonly path: string) {
    this.next = readNext(path);
  }

  /** The file for a collector id (and topic: each topic numbers its own batches) under a state directory. */
  static forCollector(dir: string, collectorId: string, topic: 'samples' | 'events' = 'samples'): SequenceFile {
    const base = collectorId.replace(/[^A-Za-z0-9._-]/g, '_');
    return new SequenceFile(join(dir, topic === 'samples' ? `${base}.seq` : `${base}.${topic}.seq`));
  }

  /** Takes the next number and records that it was taken. */
  take(): number {
    const seq = this.next++;
    if (this.fd === null) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, existsSync(this.path) ? 'r+' : 'w+');
    }
    writeSync(this.fd, `${String(this.next).padStart(WIDTH, '0')}\n`, 0);
    return seq;
  }

  peek(): number {
    return this.next;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function readNext(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const next = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(next)) throw new Error(`${path}: expected the next batch number as digits, found ${JSON.stringify(text.slice(0, 40))}; delete the file to start again at 0`);
  return next;
}
