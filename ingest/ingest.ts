/**
 * Ingest: consumes record batches from the bus and writes them to the store. A batch's offsets are
 * committed (by the bus) only after the store acknowledged its rows and its dead letters are on the
 * bus, so nothing accepted upstream is lost; a batch delivered again overwrites itself through the
 * store's dedup keys. Store failures are retried with backoff while the batch is held, which also
 * stops fetching: memory stays bounded while QuestDB is away.
 *
 * Samples are tagged with their run and partition. Each message of a samples batch is held
 * (unwritten) until its own watermark passed and the control feed caught up since; the batch is
 * committed after its last message is written (ingest/README.md explains why holding the handler is
 * what keeps the no-loss rule). Gaps in collector sequences become
 * `seq_gap` events, written before the batch is committed.
 */
import type { Bus, BusConsumer, BusMessage, BusProducer, DeliveredBatch, PartitionLag } from '../bus/bus.js';
import { withBackoff } from '../core/backoff.js';
import { nowNs } from '../core/clock.js';
import { isPermanent } from '../core/errors.js';
import { componentLogger } from '../core/logger.js';
import type { ColumnBatch } from '../schema/column-batch.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import { isRecordName, type RecordName, type RecordOf } from '../schema/records.js';
import type { Store } from '../store/store.js';
import { DEFAULT_DEAD_LETTER_TOPIC, DEFAULT_PARTITIONS_IN_FLIGHT, DEFAULT_TOPICS, DEFAULT_WATERMARK_MS, type IngestOptions } from './config.js';
import { ControlFeed } from './control-feed.js';
import { deadLetter } from './dead-letter.js';
import { decodeBatch, type DecodedBatch } from './decoded-batch.js';
import { MetricsServer } from './metrics-server.js';
import { IngestMetrics } from './metrics.js';
import { gapEvent, SeqGapTracker, type GapCheck } from './seq-gaps.js';
import { deadlineAfter } from './tagging.js';
import { WorkSlots } from './work-slots.js';

export interface IngestStats {
  messages: number;
  records: Record<RecordName, number>;
  deadLettered: number;
  batches: number;
  retries: number;
  /** Samples that got a run or partition from the control feed. */
  tagged: number;
  /** Samples left without a run although runs were active (their node is named by no run). */
  unmatched: number;
  /** Sequence gaps found (each written as a `seq_gap` event). */
  seqGaps: number;
}

export class Ingest implements Lifecycle {
  private consumer: BusConsumer | null = null;
  private dlq: BusProducer | null = null;
  private control: ControlFeed | null = null;
  private metricsServer: MetricsServer | null = null;
  private readonly gaps = new SeqGapTracker();
  private readonly unmatchedLogged = new Set<string>();
  private readonly abort = new AbortController();
  private readonly log = componentLogger('ingest');
  readonly metrics = new IngestMetrics(() => this.partitionLag());
  readonly stats: IngestStats = { messages: 0, records: { samples: 0, events: 0, partitions: 0, runs: 0, alerts: 0 }, deadLettered: 0, batches: 0, retries: 0, tagged: 0, unmatched: 0, seqGaps: 0 };

  /** Batches decoded and written at once; a batch waiting for its watermark holds none. */
  private readonly work: WorkSlots;

  constructor(private readonly bus: Bus, private readonly store: Store, private readonly options: IngestOptions = {}) {
    this.work = new WorkSlots(options.partitionsInFlight ?? DEFAULT_PARTITIONS_IN_FLIGHT);
  }

  get topics(): RecordName[] {
    return this.options.topics ?? DEFAULT_TOPICS;
  }

  private get group(): string {
    return this.options.group ?? 'isoscope-ingest';
  }

  /** Where metrics are served (`host:port`), or null when they are not. */
  get metricsAddress(): string | null {
    return this.metricsServer?.address ?? null;
  }

  async start(): Promise<void> {
    const dlqTopic = this.options.deadLetterTopic ?? DEFAULT_DEAD_LETTER_TOPIC;
    const tagging = this.options.tagging ?? this.topics.includes('samples');
    await this.bus.ensureTopics([...new Set([...this.topics, dlqTopic, ...(tagging ? ['runs', 'partitions'] : [])])]);
    if (this.options.metricsListen) {
      this.metricsServer = new MetricsServer(this.metrics.registry, this.options.metricsListen);
      await this.metricsServer.start();
    }
    this.dlq = this.bus.producer();
    if (tagging) this.control = new ControlFeed(this.bus, this.group);
    // The dead-letter producer, the control feed's group and ingest's own group start at once: each
    // is a few round trips to Kafka (a group join, a producer id), which one after the other were a
    // tenth to a third of a second of every start (docs/DECISIONS.md). A batch handed before the
    // producer and the feed are up waits for them.
    const ready = Promise.all([this.dlq.start(), this.control?.start()]);
    ready.catch(() => undefined); // observed below
    // Every partition's batch is handed at once and the work slots bound the work: a batch held for
    // its watermark then holds up no other partition (it did with kafkajs' own limit: the other
    // partitions' batches queued behind it, 1.5 × the watermark on average, docs/DECISIONS.md).
    this.consumer = this.bus.consumer({ group: this.group, topics: this.topics, fromBeginning: this.options.fromBeginning ?? true, concurrency: 'all' });
    const consuming = this.consumer.run(async (batch) => {
      await ready;
      return this.work.run(() => this.handle(batch));
    });
    const started = await Promise.allSettled([ready, consuming]);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      // Nothing is left running half-started (the caller may not shut a failed start down).
      await this.shutdown().catch(() => undefined);
      throw failed.reason;
    }
    this.log.info({ topics: this.topics, group: this.group, tagging, metrics: this.metricsAddress }, 'Ingest is consuming.');
  }

  /** Resolves when the consumer stops; rejects if it failed. */
  stopped(): Promise<void> {
    return this.consumer?.stopped() ?? Promise.resolve();
  }

  /** Messages appended to the bus and not yet ingested. */
  lag(): Promise<number> {
    if (!this.consumer) return Promise.reject(new Error('ingest is not started'));
    return this.consumer.lag();
  }

  /** The same per topic partition. */
  partitionLag(): Promise<PartitionLag[]> {
    if (!this.consumer) return Promise.reject(new Error('ingest is not started'));
    return this.consumer.partitionLag();
  }

  private async handle(batch: DeliveredBatch): Promise<void> {
    const topic = batch.topic;
    if (!isRecordName(topic)) throw new Error(`ingest was handed a batch from topic ${topic}, which carries no record type`);
    // Samples stay by column from the message to the store (ingest/decoded-batch.ts).
    const decoded = decodeBatch(batch, topic);
    const letters = decoded.letters;
    const gapCheck: GapCheck | null = topic === 'samples' || topic === 'events' ? this.gaps.check(topic, decoded.seqKeys()) : null;
    let written = 0;
    for await (const part of this.parts(batch, decoded)) {
      const rows = decoded.rows(part.first, part.last);
      const refusal = await this.write(topic, rows, batch);
      if (refusal === null) {
        written += decoded.count(part.first, part.last);
        continue;
      }
      // The store refuses these rows for good: keep their messages, with the reason, on the dead-letter topic.
      for (let i = part.first; i <= part.last; i++) letters.set(i, deadLetter(batch.messages[i]!, [{ index: -1, reason: refusal }]));
    }
    if (gapCheck && gapCheck.gaps.length > 0) await this.recordGaps(topic as 'samples' | 'events', gapCheck, batch);
    gapCheck?.commit();
    if (letters.size > 0) {
      const out = [...letters.entries()].sort(([a], [b]) => a - b).map(([, l]) => l);
      await withBackoff(() => this.dlq!.send(this.options.deadLetterTopic ?? DEFAULT_DEAD_LETTER_TOPIC, out), { signal: this.abort.signal });
      this.stats.deadLettered += out.length;
      this.metrics.deadLetters.inc({ topic }, out.length);
      this.log.warn({ topic, count: out.length, reason: out[0]!.headers!['isoscope-reason'] }, `${out.length} ${topic} messages went to the dead-letter topic.`);
    }
    this.stats.batches++;
    this.stats.messages += batch.messages.length;
    this.stats.records[topic] += written;
    const last = batch.messages[batch.messages.length - 1]!;
    this.metrics.batchDone(topic, batch.partition, (BigInt(last.offset) + 1n).toString(), last.timestampMs, batch.messages.length, written);
  }

  /**
   * The batch's messages in the parts they are written in: all at once, except for live samples
   * under tagging, where each message waits for its own watermark (its newest sample's ts, or its
   * bus timestamp if earlier, + watermarkMs) and the control feed to catch up since; the messages
   * whose watermark has passed are tagged and written together, the rest wait on. Holding the
   * whole batch for its newest sample instead made older samples wait for newer ones (and the
   * next batch for this one): 1.5 × the watermark on average. The batch is still committed only
   * after its last part is written.
   */
  private async *parts(batch: DeliveredBatch, decoded: DecodedBatch): AsyncGenerator<{ first: number; last: number }> {
    const n = batch.messages.length;
    if (batch.topic !== 'samples' || !this.control || decoded.count(0, n - 1) === 0) {
      yield { first: 0, last: n - 1 };
      return;
    }
    const watermarkMs = this.options.watermarkMs ?? DEFAULT_WATERMARK_MS;
    // A message without records (all refused at decode, dead-lettered) waits for nothing.
    const deadlines = batch.messages.map((m, i) => {
      const newest = decoded.newestTs(i);
      return newest === null ? -Infinity : deadlineAfter(newest, [m], watermarkMs);
    });
    const held = Date.now();
    let pending = deadlines.map((_, i) => i);
    while (pending.length > 0) {
      const next = Math.min(...pending.map((i) => deadlines[i]!));
      if (next > Date.now() && !this.abort.signal.aborted) {
        // Live samples: the wait for the watermark gives the work slot to other partitions' batches.
        this.work.release();
        try {
          await this.control.until(next, this.abort.signal, batch.heartbeat);
        } finally {
          await this.work.acquire();
        }
      }
      await this.control.settle(next, this.abort.signal, batch.heartbeat);
      const upTo = this.abort.signal.aborted ? Infinity : Math.max(next, this.control.caughtUpAt);
      const ready = pending.filter((i) => deadlines[i]! <= upTo);
      pending = pending.filter((i) => deadlines[i]! > upTo);
      this.metrics.watermarkSeconds.observe((Date.now() - held) / 1000);
      // Runs of consecutive messages are written together: one store write each.
      for (const run of consecutiveRuns(ready)) {
        this.tag(decoded, run.first, run.last);
        yield run;
      }
    }
  }

  /** Fills in run and partition (the watermark has passed for these samples); counts and logs the unmatched. */
  private tag(decoded: DecodedBatch, first: number, last: number): void {
    const { tagged, unmatched } = decoded.tag(first, last, this.control!.index);
    this.stats.tagged += tagged;
    for (const u of unmatched) {
      this.metrics.unmatched.inc({ node: u.node }, u.count);
      this.stats.unmatched += u.count;
      if (!this.unmatchedLogged.has(u.node)) {
        this.unmatchedLogged.add(u.node);
        const runs = u.active.slice(0, 3).map((r) => `${r.run} (nodes ${r.nodes.join(', ')})`).join('; ');
        this.log.warn({ node: u.node, runs: u.active.map((r) => r.run) }, `Samples from node ${u.node} match no run although runs are active: ${runs}. No run names node ${u.node}: its collector stamps another name than the experiment's node (set the collector's node, or the experiment node's collector.reports). Counted in isoscope_ingest_unmatched_samples_total; logged once per node.`);
      }
    }
  }

  /** Writes durably, retrying retriable failures; null, or why the store refuses the rows for good. */
  private async write(topic: RecordName, records: RecordOf<RecordName>[] | ColumnBatch, batch: DeliveredBatch): Promise<string | null> {
    const end = this.metrics.writeSeconds.startTimer({ topic });
    try {
      await withBackoff(() => this.store.write(topic, records), {
        signal: this.abort.signal,
        retriable: (err) => !isPermanent(err),
        onRetry: (err, attempt, delayMs) => {
          this.stats.retries++;
          this.metrics.retries.inc({ topic });
          this.log.warn({ err, attempt, delayMs: Math.round(delayMs), topic }, `Writing ${Array.isArray(records) ? records.length : (records as ColumnBatch).n} ${topic} records to ${this.store.kind} failed; retrying.`);
          void batch.heartbeat?.().catch(() => undefined);
        },
      });
      end();
      return null;
    } catch (err) {
      if (!isPermanent(err)) throw err;
      return (err as Error).message;
    }
  }

  /** Writes one `seq_gap` event per gap (before the batch is committed, so none is lost). */
  private async recordGaps(topic: 'samples' | 'events', check: GapCheck, batch: DeliveredBatch): Promise<void> {
    const detected = nowNs();
    const rows = check.gaps.map((g) => gapEvent(g, detected));
    const refusal = await this.write('events', rows, batch);
    if (refusal === null) this.metrics.rows.inc({ topic: 'events' }, rows.length);
    else this.log.error({ topic, reason: refusal }, `The store refused ${rows.length} seq_gap events; the gaps are only logged.`);
    for (const g of check.gaps) {
      this.metrics.seqGaps.inc({ topic });
      this.metrics.seqMissing.inc({ topic }, g.size);
      this.log.warn({ topic, collector: g.collector, fromSeq: g.fromSeq, toSeq: g.toSeq }, `Collector ${g.collector} skipped ${g.size} ${topic} batches (seq ${g.fromSeq}..${g.toSeq}).`);
    }
    this.stats.seqGaps += check.gaps.length;
  }

  /**
   * Resolves once the consumer has caught up: lag zero for `idleMs` in a row.
   * Rejects if the consumer fails meanwhile.
   */
  async waitUntilIdle(idleMs: number, pollMs = 250): Promise<void> {
    let idleSince: number | null = null;
    const failed = this.stopped().then(() => { throw new Error('ingest stopped before it caught up'); });
    failed.catch(() => undefined);
    let lagFailing = false;
    for (;;) {
      // The lag is asked of Kafka: while a broker restarts that fails ("This server does not host
      // this topic-partition"), which only means "not known to be idle yet", never a reason to stop
      // (it stopped `--exit-when-idle` ingest in a Kafka-restart fault test). The consumer rides the
      // restart out; only its own failure ends the wait.
      const lag = await Promise.race([
        this.lag().then(
          (n) => ((lagFailing = false), n),
          (err: unknown) => {
            if (!lagFailing) this.log.warn({ err }, `Asking Kafka for the ingest group's lag failed (${(err as Error).message}); asking again until it answers.`);
            lagFailing = true;
            return null;
          },
        ),
        failed,
      ]);
      const now = Date.now();
      if (lag === 0) {
        idleSince ??= now;
        if (now - idleSince >= idleMs) return;
      } else idleSince = null;
      await Promise.race([new Promise((r) => setTimeout(r, pollMs)), failed]);
    }
  }

  /** Stops consuming; a samples batch still held for its watermark is written (flushed) first. */
  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.abort.abort();
    // In parallel: a held batch stops waiting on abort, so the handler no longer needs the feed.
    await Promise.all([this.consumer?.shutdown(deadlineMs), this.control?.shutdown(deadlineMs)]);
    await this.dlq?.shutdown(deadlineMs);
    await this.metricsServer?.shutdown();
  }
}

/** Sorted message indexes → runs of consecutive ones, e.g. [0, 1, 2, 5, 6] → 0..2, 5..6. */
function consecutiveRuns(indexes: number[]): { first: number; last: number }[] {
  const runs: { first: number; last: number }[] = [];
  for (const i of indexes.sort((a, b) => a - b)) {
    const run = runs[runs.length - 1];
    if (run && run.last === i - 1) run.last = i;
    else runs.push({ first: i, last: i });
  }
  return runs;
}
