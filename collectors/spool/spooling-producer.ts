/**
 * A BusProducer that puts every batch on the disk spool first (durable when `send` resolves) and
 * forwards the spool to the real bus in order, one batch at a time, retrying with backoff while the
 * bus is away. Unsent batches survive a restart of the collector and go out first next time.
 */
import type { BusMessage, BusProducer } from '../../bus/bus.js';
import { sleep, withBackoff } from '../../core/backoff.js';
import { isPermanent } from '../../core/errors.js';
import { componentLogger } from '../../core/logger.js';
import type { SpoolDir } from './spool-dir.js';

export class SpoolingProducer implements BusProducer {
  private forwarding: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly log = componentLogger('collector.spool');
  /** Milliseconds the last batch took from spool to acknowledged by the bus. */
  lastSendMs = 0;

  constructor(private readonly target: BusProducer, readonly spool: SpoolDir) {}

  /** Opens the spool. The target is not awaited: it may be unreachable now, and connects on first send. */
  async start(): Promise<void> {
    await this.spool.open();
    this.kick();
  }

  /** Spools the messages (one batch per message; its seq comes from the `seq` header). */
  async send(topic: string, messages: BusMessage[]): Promise<void> {
    for (const m of messages) await this.spool.append(topic, Number(m.headers?.seq ?? -1), m.key, m.value);
    this.kick();
  }

  private kick(): void {
    if (this.abort.signal.aborted) return;
    this.forwarding ??= this.forward().finally(() => (this.forwarding = null));
  }

  private async forward(): Promise<void> {
    for (;;) {
      const entry = await this.spool.oldest();
      if (!entry || this.abort.signal.aborted) return;
      const t0 = performance.now();
      try {
        await withBackoff(() => this.target.send(entry.topic, [{ key: entry.key, value: entry.body }]), {
          signal: this.abort.signal,
          retriable: (err) => !isPermanent(err),
          maxMs: 5000,
          onRetry: (err, attempt, delayMs) =>
            this.log.warn({ err, attempt, topic: entry.topic, seq: entry.seq, spooled: this.spool.stats.batches }, `The bus did not take ${entry.topic} batch ${entry.seq}; it stays spooled, retrying in ${Math.round(delayMs)} ms.`),
        });
      } catch (err) {
        if (this.abort.signal.aborted) return; // shutting down: the batch stays on disk for next time
        if (!isPermanent(err)) throw err;
        // The receiver refuses this batch for good: retrying would block every later batch.
        this.log.error({ err, topic: entry.topic, seq: entry.seq }, `The bus refused ${entry.topic} batch ${entry.seq} for good; it is dropped (counted in collector.dropped_batches).`);
        this.spool.stats.droppedBatches++;
        this.spool.stats.dropped.push({ topic: entry.topic, seq: entry.seq });
      }
      this.lastSendMs = performance.now() - t0;
      await this.spool.remove(entry);
    }
  }

  /** Forwards what it can until the deadline; what is left stays spooled for the next start. */
  async shutdown(deadlineMs = 4000): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.spool.stats.batches > 0 && Date.now() < end) {
      this.kick();
      await sleep(20);
    }
    this.abort.abort();
    // A send stuck in the client's own connection retries must not hold the shutdown past its deadline.
    await Promise.race([this.forwarding?.catch(() => undefined), sleep(Math.max(0, end - Date.now()))]);
    if (this.spool.stats.batches > 0) {
      this.log.warn({ batches: this.spool.stats.batches }, `${this.spool.stats.batches} batches stay in the spool ${this.spool.dir}; the next collector start sends them first.`);
    }
    await Promise.race([this.target.shutdown(Math.max(0, end - Date.now())).catch(() => undefined), sleep(Math.max(200, end - Date.now()))]);
  }
}
