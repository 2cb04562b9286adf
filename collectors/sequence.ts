/**
 * A collector's batch sequence, kept across restarts in a small state file, so `seq` keeps counting
 * up after a restart: a gap then means lost batches, and a repeated (collector, seq) means a replay.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export class SequenceFile {
  private next: number;

  constructor(private readonly path: string) {
    this.next = readNext(path);
  }

  /** The file for a collector id (and topic: each topic numbers its own batches) under a state directory. */
  static forCollector(dir: string, collectorId: string, topic: 'samples' | 'events' = 'samples'): SequenceFile {
    const base = collectorId.replace(/[^A-Za-z0-9._-]/g, '_');
    return new SequenceFile(join(dir, topic === 'samples' ? `${base}.seq.json` : `${base}.${topic}.seq.json`));
  }

  /** Takes the next number and records that it was taken. */
  take(): number {
    const seq = this.next++;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ next: this.next }));
    renameSync(tmp, this.path);
    return seq;
  }

  peek(): number {
    return this.next;
  }
}

function readNext(path: string): number {
  try {
    const { next } = JSON.parse(readFileSync(path, 'utf8')) as { next?: unknown };
    if (typeof next === 'number' && Number.isSafeInteger(next) && next >= 0) return next;
    throw new Error(`${path}: expected {"next": <non-negative integer>}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}
