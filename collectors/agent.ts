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
import { loadSampler, type RunningSampler, type SampledTick, type SamplerResult, type SamplerSlot } from './sampler/native-sampler.js';

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
  /**
   * Read the sources on a native thread off the event loop (when every source can be: perf on CPUs
   * or cgroups, no event sources), waking JavaScript only every `flushEveryMs` to encode and send
   * one batch per tick, each with the time it was read. Off, or where it cannot be used (the reason
   * is logged), the sources are read on the JS timer. @default true
   */
  nativeSampler?: boolean;
  /** How often the native sampler's ticks are encoded and sent. @default max(1000, intervalMs) */
  flushEveryMs?: number;
  /** Where the native sampler comes from. @default loadSampler (built on first use) */
  loadSampler?: () => Promise<SamplerResult>;
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
  private sampler: RunningSampler | null = null;
  /** Where each source's slots start in a sampled tick. */
  private slotStart: number[] = [];
  private samplerDropped = 0;
  /** How the sources are read: 'native' (sampler thread) or 'js' (the agent's timer), once started. */
  mode: 'native' | 'js' | null = null;
  /** Why the sources are read on the JS timer (null when on the native sampler). */
  jsTimerReason: string | null = null;
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
    const why = await this.startSampler();
    this.mode = why === null ? 'native' : 'js';
    this.jsTimerReason = why;
    if (why === null) {
      for (const s of this.o.sources) s.sampledSlotsChange?.(this.reslot);
      const beside = this.o.eventSources?.length ? ` (event sources ${this.o.eventSources.map((s) => s.name).join(', ')} every ${this.flushEveryMs} ms on the event loop)` : '';
      this.log.info({ intervalMs: this.o.intervalMs, flushEveryMs: this.flushEveryMs }, `Sampling on a native thread off the event loop${beside}.`);
    }
    else if (this.o.nativeSampler !== false) this.log.info({ reason: why }, `Sampling on the JS timer: ${why}.`);
    this.schedule();
  }

  private get flushEveryMs(): number {
    return this.o.flushEveryMs ?? Math.max(1000, this.o.intervalMs);
  }

  /** Starts the native sampler when every source can be read by it; null, or why not. */
  private async startSampler(): Promise<string | null> {
    if (this.o.nativeSampler === false) return 'the native sampler is off';
    if (this.o.sources.length === 0) return 'no sample sources';
    const slots: SamplerSlot[] = [];
    const starts: number[] = [];
    for (const s of this.o.sources) {
      if (!s.sampledSlots || !s.readSampledInto) return `the ${s.name} source has no native read`;
      const r = s.sampledSlots(this.o.intervalMs);
      if ('reason' in r) return `${s.name}: ${r.reason}`;
      starts.push(slots.length);
      slots.push(...r.slots);
    }
    const loaded = await (this.o.loadSampler ?? loadSampler)();
    if (!loaded.ok) return `the native sampler is not available (${loaded.reason})`;
    // Room for a few flushes' worth of ticks, so a slow send or a busy event loop loses none.
    const bufferTicks = Math.max(64, Math.ceil((4 * this.flushEveryMs) / this.o.intervalMs));
    try {
      this.sampler = loaded.lib.start(slots, this.o.intervalMs, bufferTicks);
    } catch (err) {
      return (err as Error).message;
    }
    this.slotStart = starts;
    return null;
  }

  /**
   * A source's fds change (a partition scope appeared or went): the sampler thread stops, its ticks
   * are sent with the slots they were read with, `change` runs, and the sampler starts again on the
   * sources' slots as they are then. Ticks are not read while `change` runs; the next one's deltas
   * cover that time, so no count is lost. Changes run one at a time.
   */
  private readonly reslot = (change: () => Promise<void>): Promise<void> => {
    const next = this.reslotting.then(async () => {
      this.stopSampler();
      try {
        await change();
      } finally {
        if (!this.stopped && this.mode === 'native') {
          const why = await this.startSampler();
          if (why !== null) this.fallBack(why);
        }
      }
    });
    this.reslotting = next.catch(() => undefined);
    return next;
  };
  private reslotting: Promise<void> = Promise.resolve();

  /** Stops the sampler thread, sends the ticks it read, then frees it (and with it nothing else: the fds belong to the sources). */
  private stopSampler(): void {
    const sampler = this.sampler;
    if (!sampler) return;
    sampler.stop();
    try {
      this.flushSampled();
    } catch (err) {
      this.tickFailed(err);
    }
    sampler.free();
    this.sampler = null;
  }

  /** The sampler could not be started again after a change: from now on the JS timer reads every source. */
  private fallBack(why: string): void {
    this.mode = 'js';
    this.jsTimerReason = why;
    for (const s of this.o.sources) s.sampledSlotsChange?.(null);
    this.log.warn({ reason: why }, `The native sampler could not be started again; sampling on the JS timer: ${why}.`);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.mode === 'native') {
      // The sampler thread keeps the ticks aligned; JS wakes only to encode and send them.
      const every = this.flushEveryMs;
      this.timer = setTimeout(this.onFlush, every - (Date.now() % every) + Math.min(every / 4, this.o.intervalMs / 2));
      return;
    }
    // Align ticks to multiples of the interval so collectors on different nodes sample together.
    const delay = this.o.intervalMs - (Date.now() % this.o.intervalMs);
    this.timer = setTimeout(this.onTimer, delay);
  }

  private readonly onFlush = (): void => {
    try {
      this.flushSampled();
    } catch (err) {
      this.tickFailed(err);
    }
    // Event sources stay on the event loop, read once per flush beside the sampled ticks.
    if (this.o.eventSources?.length) {
      this.eventsInFlight = this.readEventSources().catch((err: unknown) => this.tickFailed(err)).finally(() => {
        this.eventsInFlight = null;
        this.schedule();
      });
    } else this.schedule();
  };
  private eventsInFlight: Promise<void> | null = null;

  /** One events batch (and a samples batch for the samples they carry), stamped when they were read. */
  private async readEventSources(): Promise<void> {
    const results = await Promise.allSettled(this.o.eventSources!.map((s) => s.read()));
    // From here to the send everything is synchronous, so no sampled tick uses the batch or takes this seq meanwhile.
    const seq = this.o.sequence.peek();
    this.batch.begin(nowNs(), seq);
    const afterSent = this.sendEvents(results, seq);
    if (afterSent) await afterSent();
  }

  /** One batch per tick the sampler read since the last flush, each with its own time and seq. */
  private flushSampled(): void {
    const sampler = this.sampler;
    if (!sampler) return;
    sampler.drain(this.sampledTick, this.beforeSampledTicks);
    const dropped = sampler.dropped();
    if (dropped > this.samplerDropped) {
      this.log.warn({ dropped: dropped - this.samplerDropped }, `The native sampler dropped ${dropped - this.samplerDropped} ticks: nobody drained them in time (the event loop was blocked).`);
      this.samplerDropped = dropped;
    }
  }

  private readonly beforeSampledTicks = (lastTs: bigint): void => {
    for (const s of this.o.sources) {
      try {
        s.beforeSampledTicks?.(lastTs);
      } catch (err) {
        this.readFailed(s.name, err);
      }
    }
  };

  private readonly sampledTick = (tick: SampledTick): void => {
    if (this.o.maxBatches !== undefined && this.produced >= this.o.maxBatches) return;
    const seq = this.o.sequence.peek();
    const batch = this.batch;
    batch.begin(tick.ts, seq);
    for (let i = 0; i < this.o.sources.length; i++) {
      const s = this.o.sources[i]!;
      batch.source(s.name);
      const mark = batch.mark();
      try {
        s.readSampledInto!(batch, tick, this.slotStart[i]!);
      } catch (err) {
        batch.rollback(mark);
        this.readFailed(s.name, err);
      }
    }
    this.send(seq, [], undefined);
  };

  /**
   * One timer for all sources. A tick whose sources all read synchronously (readInto of perf,
   * procfs, ebpf) runs without a promise; only sources that wait (event sources, async reads) make it
   * asynchronous. At 100 Hz the promise machinery alone cost more than reading the counters (measured).
   */
  private readonly onTimer = (): void => {
    let pending: Promise<void> | void = undefined;
    try {
      pending = this.tick();
    } catch (err) {
      this.tickFailed(err);
    }
    if (pending) pending.catch((err: unknown) => this.tickFailed(err)).finally(() => this.schedule());
    else this.schedule();
  };

  private tickFailed(err: unknown): void {
    this.log.error({ err }, 'A collection interval failed; the next one goes ahead.');
  }

  private tick(): Promise<void> | void {
    if (this.o.maxBatches !== undefined && this.produced >= this.o.maxBatches) return;
    const ts = nowNs();
    // Event sources may wait on I/O: they run while the sample sources (synchronous reads of kernel
    // counters) encode their samples straight into the batch.
    const eventReads = this.o.eventSources?.length ? Promise.allSettled(this.o.eventSources.map((s) => s.read())) : null;
    // The batch is written with the next seq; it is taken (and recorded) only if the batch is sent,
    // so an interval without samples leaves no gap. Ticks never overlap, so nobody else takes it.
    const seq = this.o.sequence.peek();
    this.batch.begin(ts, seq);
    const collecting = this.collect(0);
    if (collecting || eventReads) return this.finishAsync(collecting, eventReads, seq);
    this.send(seq, [], undefined);
  }

  /** Reads sample sources from `i` on into the batch; a promise only once a source returns one. */
  private collect(i: number): Promise<void> | void {
    const batch = this.batch;
    for (; i < this.o.sources.length; i++) {
      const s = this.o.sources[i]!;
      batch.source(s.name);
      const mark = batch.mark();
      let pending: Promise<void> | void;
      try {
        pending = s.readInto ? s.readInto(batch) : s.read().then((xs) => { for (const x of xs) batch.addFields(x); });
      } catch (err) {
        batch.rollback(mark);
        this.readFailed(s.name, err);
        continue;
      }
      if (pending) {
        const next = i + 1;
        return pending.then(
          () => this.collect(next),
          (err: unknown) => {
            batch.rollback(mark);
            this.readFailed(s.name, err);
            return this.collect(next);
          },
        );
      }
    }
  }

  private async finishAsync(collecting: Promise<void> | void, eventReads: Promise<PromiseSettledResult<Awaited<ReturnType<EventSource['read']>>>[]> | null, seq: number): Promise<void> {
    await collecting;
    const afterSent = this.sendEvents(eventReads ? await eventReads : [], seq);
    if (afterSent) await afterSent();
  }

  /**
   * Adds the event sources' samples to the batch begun with `seq` and sends it with their events.
   * @returns the commit to run now when nothing was sent (else it runs once the batch is sent)
   */
  private sendEvents(eventResults: PromiseSettledResult<Awaited<ReturnType<EventSource['read']>>>[], seq: number): (() => Promise<void>) | undefined {
    const events: RecordInput<'events'>[] = [];
    const identity = { node: this.o.node, collector: this.o.collectorId, seq: 0 };
    eventResults.forEach((r, i) => {
      if (r.status === 'rejected') return this.readFailed(this.o.eventSources![i]!.name, r.reason);
      for (const e of r.value.events) events.push({ ...e, ...identity, idx: events.length });
      for (const s of r.value.samples) this.batch.addFields(s);
    });
    const committing = this.o.eventSources?.filter((s, i) => s.commit && eventResults[i]?.status === 'fulfilled') ?? [];
    const afterSent = committing.length ? async () => { for (const s of committing) await s.commit!(); } : undefined;
    this.send(seq, events, afterSent);
    return this.batch.count === 0 && events.length === 0 ? afterSent : undefined;
  }

  /** Queues the samples batch (if it has samples) and the events batch (if any). */
  private send(seq: number, events: RecordInput<'events'>[], afterSent: (() => Promise<void>) | undefined): void {
    const batch = this.batch;
    const count = batch.count;
    if (count > 0) {
      const taken = this.o.sequence.take();
      if (taken !== seq) throw new Error(`samples seq ${seq} was taken elsewhere (got ${taken}); the batch is not sent`);
      this.produced++;
      this.queue.push({ topic: 'samples', key: this.o.node, seq, body: batch.finish(), count, ...(events.length ? {} : { afterSent }) });
    }
    if (events.length > 0) {
      const eventSeq = this.o.eventSequence!.take();
      for (const r of events) r.seq = eventSeq;
      this.queue.push({ topic: 'events', key: this.o.node, seq: eventSeq, body: encode('events', events), count: events.length, afterSent });
    }
  }

  private readFailed(source: string, reason: unknown): void {
    this.log.warn({ err: reason, source }, `Reading source ${source} failed; its data is missing from this interval.`);
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Ticks read before the stop are sent like the others; the fds close only after the thread stopped.
    this.stopSampler();
    await this.eventsInFlight;
    await this.queue.close(deadlineMs);
    for (const s of this.o.sources) await s.shutdown().catch(() => undefined);
    for (const s of this.o.eventSources ?? []) await s.shutdown().catch(() => undefined);
    this.o.sequence.close();
    this.o.eventSequence?.close();
  }
}
