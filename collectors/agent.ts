/**
 * The collector agent: every interval it reads all its sources, stamps the samples with one batch
 * identity (node, collector, seq, idx, ts) and sends the batch as one bus message keyed by node.
 * Sends happen in order, one at a time; a failed send is retried with backoff while later batches
 * wait in a bounded queue, so a short bus outage loses nothing.
 */
import { componentLogger } from '../core/logger.js';
import { nowNs } from '../core/clock.js';
import { withBackoff } from '../core/backoff.js';
import type { BusProducer } from '../bus/bus.js';
import { encode } from '../schema/codec.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordInput } from '../schema/records.js';
import type { SequenceFile } from './sequence.js';
import type { Source } from './source.js';

export interface CollectorAgentOptions {
  node: string;
  /** Identity of this collector in `samples.collector`, e.g. `node1/procfs`. */
  collectorId: string;
  sources: Source[];
  intervalMs: number;
  producer: BusProducer;
  sequence: SequenceFile;
  /** Stop after this many batches were sent (for scripts and tests). @default unlimited */
  maxBatches?: number;
  /** Batches held in memory while the bus is unreachable; beyond it the oldest are dropped and counted. @default 10000 */
  maxQueuedBatches?: number;
  /** Topic for samples. @default "samples" */
  topic?: string;
}

export interface CollectorStats {
  batches: number;
  samples: number;
  dropped: number;
  firstSeq: number | null;
  lastSeq: number | null;
}

export class CollectorAgent implements Lifecycle {
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: { seq: number; body: Buffer; count: number }[] = [];
  private sending: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private finished!: () => void;
  /** Resolves once maxBatches were sent. */
  readonly done = new Promise<void>((r) => (this.finished = r));
  readonly stats: CollectorStats = { batches: 0, samples: 0, dropped: 0, firstSeq: null, lastSeq: null };
  private readonly log = componentLogger('collector');
  private produced = 0;

  constructor(private readonly o: CollectorAgentOptions) {}

  async start(): Promise<void> {
    for (const s of this.o.sources) await s.start();
    this.schedule();
  }

  private schedule(): void {
    if (this.abort.signal.aborted) return;
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
    const results = await Promise.allSettled(this.o.sources.map((s) => s.read()));
    const records: RecordInput<'samples'>[] = [];
    results.forEach((r, i) => {
      const source = this.o.sources[i]!;
      if (r.status === 'rejected') {
        this.log.warn({ err: r.reason, source: source.name }, `Reading source ${source.name} failed; its samples are missing from this interval.`);
        return;
      }
      for (const s of r.value) records.push({ ...s, ts, node: this.o.node, collector: this.o.collectorId, seq: 0, idx: records.length, source: source.name });
    });
    if (records.length === 0) return;
    const seq = this.o.sequence.take();
    for (const r of records) r.seq = seq;
    this.produced++;
    this.enqueue({ seq, body: encode('samples', records), count: records.length });
  }

  private enqueue(item: { seq: number; body: Buffer; count: number }): void {
    const max = this.o.maxQueuedBatches ?? 10_000;
    if (this.queue.length >= max) {
      const lost = this.queue.shift()!;
      this.stats.dropped++;
      this.log.error({ seq: lost.seq }, `The bus has been unreachable for ${max} batches; batch ${lost.seq} was dropped (the gap will show in seq).`);
    }
    this.queue.push(item);
    this.sending ??= this.drain().finally(() => (this.sending = null));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      await withBackoff(() => this.o.producer.send(this.o.topic ?? 'samples', [{ key: this.o.node, value: item.body }]), {
        signal: this.abort.signal,
        onRetry: (err, attempt) => this.log.warn({ err, seq: item.seq, attempt }, 'Sending a batch failed; retrying.'),
      });
      this.queue.shift();
      this.stats.batches++;
      this.stats.samples += item.count;
      this.stats.firstSeq ??= item.seq;
      this.stats.lastSeq = item.seq;
      if (this.o.maxBatches !== undefined && this.stats.batches >= this.o.maxBatches) this.finished();
    }
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const flushed = this.sending ?? Promise.resolve();
    const timedOut = await Promise.race([flushed.then(() => false, () => false), new Promise<boolean>((r) => setTimeout(() => r(true), deadlineMs).unref())]);
    this.abort.abort();
    if (timedOut || this.queue.length > 0) {
      this.stats.dropped += this.queue.length;
      this.log.error({ pending: this.queue.length }, `Shutting down with ${this.queue.length} unsent batches after ${deadlineMs} ms; they are lost.`);
    }
    for (const s of this.o.sources) await s.shutdown().catch(() => undefined);
  }
}
