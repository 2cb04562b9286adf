/**
 * The delivery outbox: one JSON file per pending webhook delivery under `<dir>/pending/`, written
 * with write + fsync + rename + fsync of the directory, so a delivery accepted by the evaluator
 * survives a crash and a restart resumes it. Attempts and the next attempt time are rewritten the
 * same way after each failure. A delivery that succeeded is deleted; one that failed for good moves
 * to `<dir>/failed/` (kept for inspection, after its failure was recorded).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface OutboxEntry {
  /** The idempotency key: stable across attempts and restarts. */
  id: string;
  receiver: string;
  url: string;
  /** The exact body to send (signed as is). */
  body: string;
  alert: string;
  state: 'firing' | 'resolved';
  run: string | null;
  attempts: number;
  nextAttemptAtMs: number;
  createdAtMs: number;
  lastError: string | null;
}

export class Outbox {
  readonly pendingDir: string;
  readonly failedDir: string;

  constructor(readonly dir: string) {
    this.pendingDir = join(dir, 'pending');
    this.failedDir = join(dir, 'failed');
    mkdirSync(this.pendingDir, { recursive: true });
    mkdirSync(this.failedDir, { recursive: true });
  }

  /** Writes (or rewrites) an entry durably. */
  put(e: OutboxEntry): void {
    const final = this.path(e.id);
    const tmp = `${final}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(e));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    syncDir(this.pendingDir);
  }

  /** Whether an entry with this id is pending. */
  has(id: string): boolean {
    try {
      readFileSync(this.path(id));
      return true;
    } catch {
      return false;
    }
  }

  /** Every pending entry, oldest first. Unreadable files are moved to failed/ and reported. */
  list(onBad: (file: string, reason: string) => void = () => undefined): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const f of readdirSync(this.pendingDir)) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.pendingDir, f), 'utf8')) as OutboxEntry);
      } catch (err) {
        renameSync(join(this.pendingDir, f), join(this.failedDir, `${f}.unreadable`));
        onBad(f, (err as Error).message);
      }
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  /** Removes a delivered entry. */
  done(id: string): void {
    rmSync(this.path(id), { force: true });
    syncDir(this.pendingDir);
  }

  /** Moves an entry that failed for good to failed/. */
  fail(e: OutboxEntry): void {
    this.put(e);
    renameSync(this.path(e.id), join(this.failedDir, `${e.id}.json`));
    syncDir(this.failedDir);
    syncDir(this.pendingDir);
  }

  private path(id: string): string {
    return join(this.pendingDir, `${id}.json`);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
