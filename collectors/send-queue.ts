/**
 * The collector's outgoing queue: batches are sent in order, one at a time, each retried with
 * jittered backoff until the bus takes it. While the bus is away batches wait here, up to a bound;
 * beyond it the oldest is dropped, counted and logged (its `seq` then shows as a gap downstream).
 */
import type { BusProducer } from '../bus/bus.js';
import { withBackoff } from '../core/backoff.js';
import { componentLogger } from '../core/logger.js';

export interface QueuedBatch {
  topic: 'samples' | 'events';
  key: string;
  seq: number;
  body: Buffer;
  /** Records in the batch. */
  count: number;
  /** Runs once the batch is on the bus (event sources commit their position here). */
  afterSent?: (() => Promise<void>) | undefined;
}

export interface QueueStats {
  /** samples batches sent, and their samples */
  batches: number;
  samples: number;
  eventBatches: number;
  events: number;
  dropped: number;
  firstSeq: number | null;
  lastSeq: number | null;
}

export class SendQueue {
  private readonly items: QueuedBatch[] = [];
  private sending: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly log = componentLogger('collector');
  readonly stats: QueueStats = { batches: 0, samples: 0, eventBatches: 0, events: 0, dropped: 0, firstSeq: null, lastSeq: null };

  constructor(private readonly producer: BusProducer, private readonly max: number, private readonly onSent: () => void) {}

  push(item: QueuedBatch): void {
    if (this.items.length >= this.max) {
      const lost = this.items.shift()!;
      this.stats.dropped++;
      this.log.error({ seq: lost.seq, topic: lost.topic }, `The bus has been unreachable for ${this.max} batches; ${lost.topic} batch ${lost.seq} was dropped (the gap will show in seq).`);
    }
    this.items.push(item);
    this.sending ??= this.drain().finally(() => (this.sending = null));
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      const item = this.items[0]!;
      await withBackoff(() => this.producer.send(item.topic, [{ key: item.key, value: item.body, headers: { seq: String(item.seq) } }]), {
        signal: this.abort.signal,
        onRetry: (err, attempt) => this.log.warn({ err, seq: item.seq, topic: item.topic, attempt }, 'Sending a batch failed; retrying.'),
      });
      this.items.shift();
      if (item.topic === 'samples') {
        this.stats.batches++;
        this.stats.samples += item.count;
        this.stats.firstSeq ??= item.seq;
        this.stats.lastSeq = item.seq;
      } else {
        this.stats.eventBatches++;
        this.stats.events += item.count;
      }
      await item.afterSent?.().catch((err: unknown) => this.log.warn({ err }, 'Saving a log position failed; after a restart some lines may be sent again.'));
      this.onSent();
    }
  }

  /** Waits up to `deadlineMs` for the queue to drain; what is left then is counted as dropped. */
  async close(deadlineMs: number): Promise<void> {
    const flushed = this.sending ?? Promise.resolve();
    await Promise.race([flushed.catch(() => undefined), new Promise<void>((r) => setTimeout(r, deadlineMs).unref())]);
    this.abort.abort();
    if (this.items.length > 0) {
      this.stats.dropped += this.items.length;
      this.log.error({ pending: this.items.length }, `Shutting down with ${this.items.length} unsent batches after ${deadlineMs} ms; they are lost.`);
      this.items.length = 0;
    }
  }
}
