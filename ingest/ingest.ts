/**
 * Ingest: consumes record batches from the bus and writes them to the store. A batch's offsets are
 * committed (by the bus) only after the store acknowledged its rows and its dead letters are on the
 * bus, so nothing accepted upstream is lost; a batch delivered again overwrites itself through the
 * store's dedup keys. Store failures are retried with backoff while the batch is held, which also
 * stops fetching: memory stays bounded while QuestDB is away.
 */
import type { Bus, BusConsumer, BusMessage, BusProducer, DeliveredBatch } from '../bus/bus.js';
import { withBackoff } from '../core/backoff.js';
import { isPermanent } from '../core/errors.js';
import { componentLogger } from '../core/logger.js';
import { decode } from '../schema/codec.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import { isRecordName, type RecordName, type RecordOf } from '../schema/records.js';
import type { Store } from '../store/store.js';
import { DEFAULT_DEAD_LETTER_TOPIC, DEFAULT_TOPICS, type IngestOptions } from './config.js';
import { deadLetter } from './dead-letter.js';

export interface IngestStats {
  messages: number;
  records: Record<RecordName, number>;
  deadLettered: number;
  batches: number;
  retries: number;
}

export class Ingest implements Lifecycle {
  private consumer: BusConsumer | null = null;
  private dlq: BusProducer | null = null;
  private readonly abort = new AbortController();
  private readonly log = componentLogger('ingest');
  readonly stats: IngestStats = { messages: 0, records: { samples: 0, events: 0, partitions: 0, runs: 0, alerts: 0 }, deadLettered: 0, batches: 0, retries: 0 };

  constructor(private readonly bus: Bus, private readonly store: Store, private readonly options: IngestOptions = {}) {}

  get topics(): RecordName[] {
    return this.options.topics ?? DEFAULT_TOPICS;
  }

  async start(): Promise<void> {
    const dlqTopic = this.options.deadLetterTopic ?? DEFAULT_DEAD_LETTER_TOPIC;
    await this.bus.ensureTopics([...this.topics, dlqTopic]);
    this.dlq = this.bus.producer();
    await this.dlq.start();
    this.consumer = this.bus.consumer({ group: this.options.group ?? 'isoscope-ingest', topics: this.topics, fromBeginning: true });
    await this.consumer.run((batch) => this.handle(batch));
    this.log.info({ topics: this.topics, group: this.options.group }, 'Ingest is consuming.');
  }

  /** Resolves when the consumer stops; rejects if it failed. */
  stopped(): Promise<void> {
    return this.consumer?.stopped() ?? Promise.resolve();
  }

  /** Messages appended to the bus and not yet ingested. */
  lag(): Promise<number> {
    if (!this.consumer) throw new Error('ingest is not started');
    return this.consumer.lag();
  }

  private async handle(batch: DeliveredBatch): Promise<void> {
    const topic = batch.topic;
    if (!isRecordName(topic)) throw new Error(`ingest was handed a batch from topic ${topic}, which carries no record type`);
    const records: RecordOf<typeof topic>[] = [];
    const letters: BusMessage[] = [];
    for (const m of batch.messages) {
      const decoded = decode(m.value, topic);
      records.push(...decoded.records);
      if (decoded.errors.length > 0) letters.push(deadLetter(m, decoded.errors));
    }
    try {
      await withBackoff(() => this.store.write(topic, records), {
        signal: this.abort.signal,
        retriable: (err) => !isPermanent(err),
        onRetry: (err, attempt, delayMs) => {
          this.stats.retries++;
          this.log.warn({ err, attempt, delayMs: Math.round(delayMs), topic }, `Writing ${records.length} ${topic} records to ${this.store.kind} failed; retrying.`);
          void batch.heartbeat?.().catch(() => undefined);
        },
      });
    } catch (err) {
      if (!isPermanent(err)) throw err;
      // The store refuses these rows for good: keep them, with the reason, on the dead-letter topic.
      records.length = 0;
      letters.length = 0;
      for (const m of batch.messages) letters.push(deadLetter(m, [{ index: -1, reason: (err as Error).message }]));
    }
    if (letters.length > 0) {
      await withBackoff(() => this.dlq!.send(this.options.deadLetterTopic ?? DEFAULT_DEAD_LETTER_TOPIC, letters), { signal: this.abort.signal });
      this.stats.deadLettered += letters.length;
      this.log.warn({ topic, count: letters.length, reason: letters[0]!.headers!['isoscope-reason'] }, `${letters.length} ${topic} messages went to the dead-letter topic.`);
    }
    this.stats.batches++;
    this.stats.messages += batch.messages.length;
    this.stats.records[topic] += records.length;
  }

  /**
   * Resolves once the consumer has caught up: lag zero for `idleMs` in a row.
   * Rejects if the consumer fails meanwhile.
   */
  async waitUntilIdle(idleMs: number, pollMs = 250): Promise<void> {
    let idleSince: number | null = null;
    const failed = this.stopped().then(() => { throw new Error('ingest stopped before it caught up'); });
    failed.catch(() => undefined);
    for (;;) {
      const lag = await Promise.race([this.lag(), failed]);
      const now = Date.now();
      if (lag === 0) {
        idleSince ??= now;
        if (now - idleSince >= idleMs) return;
      } else idleSince = null;
      await Promise.race([new Promise((r) => setTimeout(r, pollMs)), failed]);
    }
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.abort.abort();
    await this.consumer?.shutdown(deadlineMs);
    await this.dlq?.shutdown(deadlineMs);
  }
}
