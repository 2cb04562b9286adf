/**
 * Group commit for the spool: batches appended while a write is under way (or in the same
 * synchronous run) wait and go together in the next write, in the order they came; a group above
 * `maxBytes` is cut into several. Each append resolves once the write holding it is done. When a
 * write fails, it and every group after it fail too: writing them would put them ahead of its retry.
 */
import type { SpooledBatch } from './segment-file.js';
import type { BatchMeta } from './spool-scan.js';

/** Batches written together: positions `position` to `position + batches.length - 1`. */
export interface Group {
  position: number;
  batches: SpooledBatch[];
  meta: BatchMeta[];
  bytes: number;
}

interface Pending extends Group {
  settle: { resolve: () => void; reject: (err: unknown) => void };
  done: Promise<void>;
}

export class GroupCommit {
  /** The position the next appended batch gets. */
  nextPosition = 0;
  private collecting: Pending | null = null;
  private readonly queued: Pending[] = [];
  private writing: Promise<void> | null = null;

  /**
   * @param write makes one group durable.
   * @param giveUp called when a write failed, before its appends and all later ones are rejected:
   *   their positions up to `nextPosition` are given up.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly write: (g: Group) => Promise<void>,
    private readonly giveUp: () => void,
  ) {}

  /** Appends a batch taking `bytes`; resolves once the group holding it is written. */
  add(batch: SpooledBatch, bytes: number): Promise<void> {
    let g = this.collecting;
    if (g && g.bytes + bytes > this.maxBytes) {
      this.queued.push(g);
      g = null;
    }
    if (!g) {
      let settle!: Pending['settle'];
      const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      g = this.collecting = { position: this.nextPosition, batches: [], meta: [], bytes: 0, settle, done };
    }
    this.nextPosition++;
    g.batches.push(batch);
    g.meta.push({ topic: batch.topic, seq: batch.seq, bytes });
    g.bytes += bytes;
    this.writing ??= this.writeGroups();
    return g.done;
  }

  /** Resolves once no write is under way (whether the last one failed or not). */
  async settled(): Promise<void> {
    await this.writing?.catch(() => undefined);
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
        const failed = [g, ...this.queued.splice(0), ...(this.collecting ? [this.collecting] : [])];
        this.collecting = null;
        this.giveUp();
        this.writing = null;
        for (const later of failed) later.settle.reject(err);
        return;
      }
      g.settle.resolve();
    }
  }
}
