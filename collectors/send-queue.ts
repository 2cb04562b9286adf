/**
 * The collector's outgoing queue: batches are sent in order, one send at a time (the batches of one
 * topic waiting at its head together), each retried with jittered backoff until the bus takes it. While the bus is away batches wait here, up to a bound;
 * beyond it the oldest is dropped, counted and logged (its `seq` then shows as a gap downstream).
 */
import { takenBeforeFailure, type BusProducer } from '../bus/bus.js';
import { withBackoff } from '../core/backoff.js';
import { componentLogger } from '../core/logger.js';

/** Bytes of batches handed to the producer in one send (at least one batch). */
const SEND_MAX_BYTES = 512 * 1024;

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
  /** Items at the head being sent. */
  private inFlight = 0;
  private readonly abort = new AbortController();
  private readonly log = componentLogger('collector');
  readonly stats: QueueStats = { batches: 0, samples: 0, eventBatches: 0, events: 0, dropped: 0, firstSeq: null, lastSeq: null };

  constructor(private readonly producer: BusProducer, private readonly max: number, private readonly onSent: () => void) {}

  push(item: QueuedBatch): void {
    // The oldest batch not in flight goes (a batch being sent may be on the bus already).
    if (this.items.length >= this.max && this.items.length > this.inFlight) {
      const lost = this.items.splice(this.inFlight, 1)[0]!;
      this.stats.dropped++;
      this.log.error({ seq: lost.seq, topic: lost.topic }, `The bus has been unreachable for ${this.max} batches; ${lost.topic} batch ${lost.seq} was dropped (the gap will show in seq).`);
    }
    this.items.push(item);
    // Sending starts once the code pushing now has finished (a microtask later), so the batches of a
    // native sampler's flush (one per tick, pushed in one go) leave in one send: one spool commit
    // and one request instead of the first batch alone and then the rest.
    this.sending ??= Promise.resolve().then(() => this.drain()).finally(() => (this.sending = null));
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      // Every batch of one topic waiting at the head goes in one send: behind the disk spool that is
      // one group commit (one fsync) instead of one per batch.
      const topic = this.items[0]!.topic;
      let n = 0;
      let bytes = 0;
      while (n < this.items.length && this.items[n]!.topic === topic && (n === 0 || bytes + this.items[n]!.body.length <= SEND_MAX_BYTES)) bytes += this.items[n++]!.body.length;
      const run = this.items.slice(0, n);
      this.inFlight = n;
      let taken = 0; // a retry resends only what the producer did not take (a send may fail part-way)
      await withBackoff(
        async () => {
          const left = run.slice(taken);
          try {
            await this.producer.send(topic, left.map((item) => ({ key: item.key, value: item.body, headers: { seq: String(item.seq) } })));
          } catch (err) {
            taken += Math.min(takenBeforeFailure(err), left.length);
            throw err;
          }
        },
        {
          signal: this.abort.signal,
          onRetry: (err, attempt) => this.log.warn({ err, seq: run[taken]?.seq, batches: run.length - taken, topic, attempt }, 'Sending a batch failed; retrying.'),
        },
      );
      this.items.splice(0, n);
      this.inFlight = 0;
      for (const item of run) {
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
