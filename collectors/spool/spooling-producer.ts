/**
 * A BusProducer that puts every batch on the disk spool first (durable when `send` resolves: the
 * batches of one send, and of sends at the same moment, share one fsync) and forwards the spool to
 * the real bus in order, several batches per request (up to {@link FORWARD_MAX_BYTES}), retrying
 * with backoff while the bus is away. Unsent batches survive a restart of the collector and go out
 * first next time.
 */
import { markTaken, takenBeforeFailure, type BusMessage, type BusProducer } from '../../bus/bus.js';
import { sleep, withBackoff } from '../../core/backoff.js';
import { isPermanent } from '../../core/errors.js';
import { componentLogger } from '../../core/logger.js';
import type { SpoolDir, SpoolEntry } from './spool-dir.js';

/**
 * Batches forwarded per request, in bytes: the size of a spool segment, below Kafka's default
 * 1 MiB per request. One request per batch cost more CPU than encoding the batch (bench/producer).
 */
export const FORWARD_MAX_BYTES = 512 * 1024;

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

  /** Spools the messages (one batch per message; its seq comes from the `seq` header) in one group commit. */
  async send(topic: string, messages: BusMessage[]): Promise<void> {
    const appends: Promise<void>[] = [];
    for (const m of messages) appends.push(this.spool.append(topic, Number(m.headers?.seq ?? -1), m.key, m.value));
    const settled = await Promise.allSettled(appends);
    this.kick();
    const failed = settled.findIndex((r) => r.status === 'rejected');
    // A group past the segment size is written as several: the ones before a failed write are durable.
    if (failed >= 0) throw markTaken((settled[failed] as PromiseRejectedResult).reason, failed);
  }

  private kick(): void {
    if (this.abort.signal.aborted) return;
    this.forwarding ??= this.forward().finally(() => (this.forwarding = null));
  }

  private async forward(): Promise<void> {
    for (;;) {
      const entries = await this.spool.next(FORWARD_MAX_BYTES);
      if (entries.length === 0 || this.abort.signal.aborted) return;
      const t0 = performance.now();
      // One request per run of one topic, in order (samples and events batches of a moment alternate).
      for (let i = 0; i < entries.length;) {
        let j = i + 1;
        while (j < entries.length && entries[j]!.topic === entries[i]!.topic) j++;
        if (!(await this.forwardRun(entries.slice(i, j)))) return; // shutting down: the batches stay on disk for next time
        i = j;
      }
      this.lastSendMs = performance.now() - t0;
      await this.spool.remove(entries);
    }
  }

  /**
   * Sends batches of one topic in one request until the bus took them all; false if shut down first.
   * A retry resends only what the bus did not take (a send may fail part-way).
   */
  private async forwardRun(run: SpoolEntry[]): Promise<boolean> {
    const { topic } = run[0]!;
    let taken = 0;
    while (taken < run.length) {
      const rest = run.slice(taken);
      const what = rest.length === 1 ? `batch ${rest[0]!.seq}` : `batches ${rest[0]!.seq}–${rest.at(-1)!.seq}`;
      try {
        await withBackoff(
          async () => {
            const left = run.slice(taken);
            try {
              await this.target.send(topic, left.map((e) => ({ key: e.key, value: e.body })));
              taken = run.length;
            } catch (err) {
              taken += Math.min(takenBeforeFailure(err), left.length);
              throw err;
            }
          },
          {
            signal: this.abort.signal,
            retriable: (err) => !isPermanent(err),
            maxMs: 5000,
            onRetry: (err, attempt, delayMs) =>
              this.log.warn({ err, attempt, topic, seq: run[taken]?.seq, batches: run.length - taken, spooled: this.spool.stats.batches }, `The bus did not take ${topic} ${what}; they stay spooled, retrying in ${Math.round(delayMs)} ms.`),
          },
        );
      } catch (err) {
        if (this.abort.signal.aborted) return false;
        if (!isPermanent(err)) throw err;
        const refused = run[taken];
        if (!refused) return true;
        if (takenBeforeFailure(err) === 0 && run.length - taken > 1) {
          // Refused for good, and the bus did not say which: each batch goes alone, so only the refused one is dropped.
          for (const e of run.slice(taken)) if (!(await this.forwardRun([e]))) return false;
          return true;
        }
        // The batch the bus refused for good is dropped: retrying it would block every later batch.
        this.log.error({ err, topic, seq: refused.seq }, `The bus refused ${topic} batch ${refused.seq} for good; it is dropped (counted in collector.dropped_batches).`);
        this.spool.stats.droppedBatches++;
        this.spool.stats.dropped.push({ topic, seq: refused.seq });
        taken++;
      }
    }
    return true;
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
    await this.spool.close();
  }
}
