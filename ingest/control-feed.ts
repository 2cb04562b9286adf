/**
 * The control feed: every `runs` and `partitions` record on the bus, applied to this instance's
 * ownership index. It is a consumer group of its own (one per ingest instance and start, reading
 * from the beginning), because tagging needs all control records while the shared ingest group
 * hands each instance only some partitions; the shared group still writes them to the store.
 *
 * `settle(t)` is the watermark's other half: it resolves once the feed has been seen caught up
 * (lag zero) at a moment at or after `t`, i.e. every control record on the bus by then is applied.
 */
import { hostname } from 'node:os';
import type { Bus, BusConsumer, DeliveredBatch } from '../bus/bus.js';
import { componentLogger } from '../core/logger.js';
import { decode } from '../schema/codec.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import { OwnershipIndex } from './ownership.js';

/** How often the feed's lag is checked while a samples batch waits for it, ms. */
const POLL_MS = 100;
/** How often a waiting handler tells Kafka it is alive, ms. */
const HEARTBEAT_MS = 1000;

export class ControlFeed implements Lifecycle {
  readonly index = new OwnershipIndex();
  /** Control records applied, and those whose contents could not be applied (bad cpu list). */
  readonly stats = { applied: 0, rejected: 0 };
  private consumer: BusConsumer | null = null;
  private caughtUpAsOf = -Infinity;
  private checking: Promise<boolean> | null = null;
  private failure: unknown = null;
  private readonly log = componentLogger('ingest');

  /** @param group the ingest group; the feed's own group is derived from it, unique per start. */
  constructor(private readonly bus: Bus, private readonly group: string) {}

  async start(): Promise<void> {
    const group = `${this.group}.control.${hostname()}.${process.pid}.${Date.now().toString(36)}`;
    this.consumer = this.bus.consumer({ group, topics: ['runs', 'partitions'], fromBeginning: true });
    await this.consumer.run((batch) => this.apply(batch));
    this.consumer.stopped().catch((err) => (this.failure = err ?? new Error('the control feed stopped')));
    // A first look at the feed's lag now, while ingest's own first fetch is on its way: a backlog's
    // first batch (watermark long passed) then finds the feed seen caught up instead of asking and
    // waiting itself (a round trip to the group coordinator and the topics' ends).
    void this.check();
  }

  private async apply(batch: DeliveredBatch): Promise<void> {
    for (const m of batch.messages) {
      // Invalid control messages are dead-lettered by the ingest group; here they are skipped.
      if (batch.topic === 'runs') for (const r of decode(m.value, 'runs').records) { this.index.applyRun(r); this.stats.applied++; }
      else if (batch.topic === 'partitions') {
        for (const p of decode(m.value, 'partitions').records) {
          try {
            this.index.applyPartition(p);
            this.stats.applied++;
          } catch (err) {
            this.stats.rejected++;
            this.log.warn({ err }, `A partitions record cannot be used for tagging: ${(err as Error).message}`);
          }
        }
      }
    }
  }

  /** Wall time (ms) at or before which every control record on the bus is applied (-Infinity: not yet seen caught up). */
  get caughtUpAt(): number {
    return this.caughtUpAsOf;
  }

  /** Waits until wall time `readyAtMs` (or abort), heartbeating meanwhile. */
  async until(readyAtMs: number, signal: AbortSignal, heartbeat?: () => Promise<void>): Promise<void> {
    const alive = beater(heartbeat);
    while (!signal.aborted && Date.now() < readyAtMs) {
      await sleep(Math.min(readyAtMs - Date.now(), HEARTBEAT_MS), signal);
      alive();
    }
  }

  /**
   * Waits until wall time `readyAtMs`, then until the feed is seen caught up at or after it.
   * Returns early (without tagging guarantees) when `signal` aborts: ingest is shutting down and
   * flushes. Throws when the feed failed, so samples are never written with a dead index.
   */
  async settle(readyAtMs: number, signal: AbortSignal, heartbeat?: () => Promise<void>): Promise<void> {
    await this.until(readyAtMs, signal, heartbeat);
    const alive = beater(heartbeat);
    while (!signal.aborted && this.caughtUpAsOf < readyAtMs) {
      if (this.failure) throw new Error(`the control feed (runs, partitions) of ingest group ${this.group} failed, so samples cannot be tagged: ${(this.failure as Error).message ?? this.failure}`);
      const sawLag = await this.check();
      // A check that started before readyAtMs and saw no lag proves nothing yet: the next one goes
      // at once. Only a feed that is behind gets time to catch up (at watermark 0 every live batch
      // waits on this; the poll pause was the largest part of its wait).
      if (this.caughtUpAsOf < readyAtMs && sawLag) await sleep(POLL_MS, signal);
      alive();
    }
  }

  /** One lag check at a time, shared by every waiter; true if it saw the feed behind (or failed). */
  private check(): Promise<boolean> {
    if (this.checking) return this.checking;
    const probe = this.probe();
    this.checking = probe;
    void probe.finally(() => { if (this.checking === probe) this.checking = null; });
    return probe;
  }

  private async probe(): Promise<boolean> {
    const started = Date.now();
    try {
      if (!this.consumer) throw new Error('the control feed is not started');
      if ((await this.consumer.lag()) > 0) return true;
      this.caughtUpAsOf = Math.max(this.caughtUpAsOf, started);
      return false;
    } catch (err) {
      this.log.warn({ err }, 'Checking the lag of the control feed failed; trying again.');
      return true;
    }
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    await this.consumer?.shutdown(deadlineMs);
  }
}

/** Calls `heartbeat` when HEARTBEAT_MS passed since the last call (or since creation). */
function beater(heartbeat?: () => Promise<void>): () => void {
  let beat = Date.now();
  return () => {
    if (heartbeat && Date.now() - beat >= HEARTBEAT_MS) { beat = Date.now(); void heartbeat().catch(() => undefined); }
  };
}

/** Sleeps `ms`, ending early on abort; removes its listener, as waiters sleep many times per signal. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}
