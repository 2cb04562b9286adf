/**
 * The collector agent: every interval it reads all its sources, stamps what they returned with one
 * batch identity per topic (node, collector, seq, idx) and sends one `samples` message and, when
 * event sources produced something, one `events` message, keyed by node. Sends happen in order, one
 * at a time; a failed send is retried with backoff while later batches wait in a bounded queue, so a
 * short bus outage loses nothing. Event sources commit their position only after their batch is sent.
 */
import { componentLogger } from '../core/logger.js';
import { nowNs } from '../core/clock.js';
import type { BusProducer } from '../bus/bus.js';
import { encode } from '../schema/codec.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordInput } from '../schema/records.js';
import type { EventSource } from './event-source.js';
import { SendQueue, type QueueStats } from './send-queue.js';
import type { SequenceFile } from './sequence.js';
import { SampleBatch } from './sample-batch.js';
import type { Source } from './source.js';

export interface CollectorAgentOptions {
  node: string;
  /** Identity of this collector in `samples.collector` / `events.collector`, e.g. `node1/procfs`. */
  collectorId: string;
  sources: Source[];
  eventSources?: EventSource[];
  intervalMs: number;
  producer: BusProducer;
  /** Sequence of samples batches. */
  sequence: SequenceFile;
  /** Sequence of events batches (its own, so each topic's seq has no gaps). Required with eventSources. */
  eventSequence?: SequenceFile;
  /** Stop after this many samples batches were sent (for scripts and tests). @default unlimited */
  maxBatches?: number;
  /** Batches held in memory while the bus is unreachable; beyond it the oldest are dropped and counted. @default 10000 */
  maxQueuedBatches?: number;
}

export type CollectorStats = QueueStats;

export class CollectorAgent implements Lifecycle {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly queue: SendQueue;
  private readonly log = componentLogger('collector');
  private produced = 0;
  private readonly batch: SampleBatch;
  private finished!: () => void;
  /** Resolves once maxBatches samples batches were sent. */
  readonly done = new Promise<void>((r) => (this.finished = r));

  constructor(private readonly o: CollectorAgentOptions) {
    if (o.eventSources?.length && !o.eventSequence) throw new Error('event sources need an eventSequence');
    this.batch = new SampleBatch(o.node, o.collectorId);
    this.queue = new SendQueue(o.producer, o.maxQueuedBatches ?? 10_000, () => {
      if (o.maxBatches !== undefined && this.queue.stats.batches >= o.maxBatches) this.finished();
    });
  }

  get stats(): CollectorStats {
    return this.queue.stats;
  }

  async start(): Promise<void> {
    for (const s of this.o.sources) await s.start();
    for (const s of this.o.eventSources ?? []) await s.start();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Align ticks to multiples of the interval so collectors on different nodes sample together.
    const delay = this.o.intervalMs - (Date.now() % this.o.intervalMs);
    this.timer = setTimeout(() => {
      void this.tick()
        .catch((err: unknown) => this.log.error({ err }, 'A collection interval failed; the next one goes ahead.'))
        .finally(() => this.schedule());
    }, delay);
  }

  private async tick(): Promise<void> {
    if (this.o.maxBatches !== undefined && this.produced >= this.o.maxBatches) return;
    const ts = nowNs();
    const identity = { node: this.o.node, collector: this.o.collectorId, seq: 0 };
    const events: RecordInput<'events'>[] = [];
    // Event sources may wait on I/O: they run while the sample sources (synchronous reads of kernel
    // counters) encode their samples straight into the batch.
    const eventReads = Promise.allSettled((this.o.eventSources ?? []).map((s) => s.read()));
    // The batch is written with the next seq; it is taken (and recorded) only if the batch is sent,
    // so an interval without samples leaves no gap. Ticks never overlap, so nobody else takes it.
    const seq = this.o.sequence.peek();
    const batch = this.batch;
    batch.begin(ts, seq);
    for (const s of this.o.sources) {
      batch.source(s.name);
      const mark = batch.mark();
      try {
        if (s.readInto) await s.readInto(batch);
        else for (const x of await s.read()) batch.addFields(x);
      } catch (err) {
        batch.rollback(mark);
        this.readFailed(s.name, err);
      }
    }
    const eventResults = await eventReads;
    eventResults.forEach((r, i) => {
      if (r.status === 'rejected') return this.readFailed(this.o.eventSources![i]!.name, r.reason);
      for (const e of r.value.events) events.push({ ...e, ...identity, idx: events.length });
      for (const s of r.value.samples) batch.addFields(s);
    });
    const committing = (this.o.eventSources ?? []).filter((s, i) => s.commit && eventResults[i]!.status === 'fulfilled');
    const afterSent = committing.length ? async () => { for (const s of committing) await s.commit!(); } : undefined;
    if (batch.count > 0) {
      const taken = this.o.sequence.take();
      if (taken !== seq) throw new Error(`samples seq ${seq} was taken elsewhere (got ${taken}); the batch is not sent`);
      this.produced++;
      const count = batch.count;
      this.queue.push({ topic: 'samples', key: this.o.node, seq, body: batch.finish(), count, ...(events.length ? {} : { afterSent }) });
    }
    if (events.length > 0) {
      const seq = this.o.eventSequence!.take();
      for (const r of events) r.seq = seq;
      this.queue.push({ topic: 'events', key: this.o.node, seq, body: encode('events', events), count: events.length, afterSent });
    } else if (batch.count === 0 && afterSent) await afterSent();
  }

  private readFailed(source: string, reason: unknown): void {
    this.log.warn({ err: reason, source }, `Reading source ${source} failed; its data is missing from this interval.`);
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.queue.close(deadlineMs);
    for (const s of this.o.sources) await s.shutdown().catch(() => undefined);
    for (const s of this.o.eventSources ?? []) await s.shutdown().catch(() => undefined);
    this.o.sequence.close();
    this.o.eventSequence?.close();
  }
}
