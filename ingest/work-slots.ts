/**
 * A counting semaphore for ingest's work: at most `size` batches are decoded, tagged and written
 * at once (`ingest.partitionsInFlight`). A samples batch waiting for its watermark gives its slot
 * back meanwhile, so a held partition holds up no other (ingest.ts, `parts`). Waiters are served in
 * arrival order.
 */
export class WorkSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  /** Runs `work` in a slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }
}
