/**
 * BusConsumer on Kafka: a consumer-group member that hands each fetched batch to the handler and
 * commits the batch's offsets only after the handler resolved. Automatic commits are off. A handler
 * failure stops the consumer and surfaces in `stopped()`; a failure of Kafka's side (broker away,
 * a commit lost to a rebalance) never does: after a lost commit the member rejoins its group, after
 * a crash a new member is created; either resumes from the committed offsets, and a batch whose
 * commit was lost is delivered again and overwrites itself in the store.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { withBackoff } from '../../core/backoff.js';
import { componentLogger } from '../../core/logger.js';
import type { BatchHandler, BusConsumer, ConsumerOptions, DeliveredBatch, PartitionLag } from '../bus.js';

/** An error of the batch handler (not of Kafka): it stops the consumer instead of restarting it. */
class HandlerError extends Error {
  constructor(readonly original: unknown) {
    super((original as Error)?.message ?? String(original));
    this.name = 'HandlerError';
  }
}

/** The handler's error inside whatever kafkajs wrapped it in, if it is one. */
function handlerError(err: unknown): HandlerError | null {
  for (let e = err as { cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e instanceof HandlerError) return e;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return null;
}

/** Failures that only mean this member's view of the group is stale (the partition changed owner). */
const REBALANCE = /coordinator is not aware of this member|specified group generation id is not valid|group is rebalancing|REBALANCE_IN_PROGRESS|ILLEGAL_GENERATION|UNKNOWN_MEMBER_ID/i;
function lostToRebalance(err: unknown): boolean {
  const e = err as { type?: string; message?: string; cause?: { type?: string }; originalError?: { type?: string } };
  return [e.type, e.cause?.type, e.originalError?.type].some((t) => t && REBALANCE.test(t)) || REBALANCE.test(e.message ?? '');
}

export interface KafkaConsumerSettings {
  maxBytesPerPartition: number;
  /** @default 30000 */
  sessionTimeoutMs?: number;
}

export class KafkaConsumer implements BusConsumer {
  private readonly log = componentLogger('bus.kafka');
  private consumer: Consumer | null = null;
  private readonly admin: Admin;
  private handler: BatchHandler | null = null;
  private running = false;
  private readonly halt = new AbortController();
  private readonly stoppedPromise: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  private readonly heartbeatMs: number;
  private readonly sessionTimeoutMs: number;

  constructor(private readonly kafka: Kafka, private readonly options: ConsumerOptions, private readonly settings: KafkaConsumerSettings) {
    this.sessionTimeoutMs = settings.sessionTimeoutMs ?? 30_000;
    this.heartbeatMs = Math.max(500, Math.floor(this.sessionTimeoutMs / 10));
    this.admin = kafka.admin();
    this.stoppedPromise = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.stoppedPromise.catch(() => undefined); // observed through stopped()
  }

  async start(): Promise<void> {
    await this.admin.connect();
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.running) throw new Error(`consumer of group ${this.options.group} is already running`);
    await this.start();
    this.handler = handler;
    this.running = true;
    await this.launch();
  }

  /** Creates, connects and runs one kafkajs consumer (a new one after each crash). */
  private async launch(): Promise<void> {
    const concurrency = await this.concurrency();
    const consumer = this.kafka.consumer({
      groupId: this.options.group,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatMs,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: this.settings.maxBytesPerPartition,
      // Within one consumer, kafkajs restarts itself after retriable failures; never after the handler's.
      retry: { retries: 5, restartOnFailure: async (err) => handlerError(err) === null },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || !this.running || this.consumer !== consumer) return;
      const err = e.payload.error;
      const failed = handlerError(err);
      if (failed) {
        // Logged here with its stack (the caller reports only the message): where a handler failed
        // is what a report of a stopped consumer needs first.
        this.log.error({ err: failed.original, group: this.options.group }, `The batch handler of group ${this.options.group} failed (${(failed.original as Error)?.message ?? failed.original}); the consumer stops.`);
        return this.settle.reject(failed.original);
      }
      this.log.warn({ err, group: this.options.group }, `The Kafka consumer of group ${this.options.group} stopped (${err.message}); starting a new member, which resumes from the committed offsets.`);
      void this.relaunch(consumer);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0 || !isRunning() || isStale()) return;
        const delivered: DeliveredBatch = {
          topic: batch.topic,
          partition: batch.partition,
          heartbeat,
          messages: batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key ? m.key.toString('utf8') : null,
            value: m.value ?? Buffer.alloc(0),
            timestampMs: Number(m.timestamp),
            headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v ?? '')])),
          })),
        };
        // Heartbeat for as long as the handler runs (a store outage can hold it for minutes): otherwise
        // the group evicts this member after sessionTimeout and its commit fails with "unknown member".
        const beating = setInterval(() => void heartbeat().catch(() => undefined), this.heartbeatMs);
        try {
          await this.handler!(delivered);
        } catch (err) {
          throw new HandlerError(err);
        } finally {
          clearInterval(beating);
        }
        const last = batch.messages[batch.messages.length - 1]!.offset;
        try {
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        } catch (err) {
          if (!lostToRebalance(err)) throw err;
          // This member's generation is stale (a member joined or died while the batch was in hand).
          // The rows are written; uncommitted, the batch goes again to the partition's owner and
          // overwrites itself. kafkajs rejoins the group when an error of these types leaves
          // eachBatch, but its commit wraps them so the type is lost: give it back. (Starting a new
          // member instead livelocks: each join is itself a rebalance that stales the next commit.)
          const member = /not aware of this member|UNKNOWN_MEMBER_ID/i.test(`${(err as Error).message} ${(err as { type?: string }).type ?? ''}`);
          this.log.info({ topic: batch.topic, partition: batch.partition, reason: (err as Error).message }, 'A commit was lost to a group rebalance; rejoining the group (the batch will be delivered again and the store deduplicates it).');
          throw Object.assign(new Error(`commit lost to a group rebalance: ${(err as Error).message}`), { type: member ? 'UNKNOWN_MEMBER_ID' : 'REBALANCE_IN_PROGRESS' });
        }
        resolveOffset(last);
      },
    });
  }

  /**
   * kafkajs' worker count: as asked, or for `'all'` the partitions of the subscribed topics now
   * (partitions added later share workers: their batches may wait for another's, nothing worse).
   */
  private async concurrency(): Promise<number> {
    const asked = this.options.concurrency ?? 1;
    if (asked !== 'all') return Math.max(1, asked);
    const { topics } = await this.admin.fetchTopicMetadata({ topics: this.options.topics });
    return Math.max(1, topics.reduce((sum, t) => sum + t.partitions.length, 0));
  }

  private async relaunch(old: Consumer): Promise<void> {
    if (this.consumer !== old || !this.running) return; // already replaced, or shutting down
    this.consumer = null;
    // Not awaited: called from inside old's eachBatch, and disconnect waits for that batch to end.
    void old.disconnect().catch(() => undefined);
    try {
      await withBackoff(() => (this.running ? this.launch() : Promise.resolve()), {
        signal: this.halt.signal,
        onRetry: (err, attempt, delayMs) =>
          this.log.warn({ err, attempt }, `Starting a new Kafka consumer for group ${this.options.group} failed; retrying in ${Math.round(delayMs)} ms.`),
      });
    } catch (err) {
      if (!this.running) return;
      this.log.error({ err, group: this.options.group }, `Starting a new Kafka consumer for group ${this.options.group} failed for good (${(err as Error).message}); the consumer stops.`);
      this.settle.reject(err);
    }
  }

  async lag(): Promise<number> {
    return (await this.partitionLag()).reduce((sum, p) => sum + p.lag, 0);
  }

  async partitionLag(): Promise<PartitionLag[]> {
    const lags: PartitionLag[] = [];
    // In parallel: the control feed waits on this for each live samples batch (ingest/control-feed.ts).
    const [committed, ...endsByTopic] = await Promise.all([
      this.admin.fetchOffsets({ groupId: this.options.group, topics: this.options.topics }),
      ...this.options.topics.map((topic) => this.admin.fetchTopicOffsets(topic)),
    ]);
    for (const { topic, partitions } of committed) {
      const ends = endsByTopic[this.options.topics.indexOf(topic)]!;
      for (const end of ends) {
        const c = partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        const from = BigInt(c) >= 0n ? BigInt(c) : BigInt(end.low);
        lags.push({ topic, partition: end.partition, lag: Number(BigInt(end.high) - from) });
      }
    }
    return lags;
  }

  stopped(): Promise<void> {
    return this.stoppedPromise;
  }

  async shutdown(): Promise<void> {
    this.running = false;
    this.halt.abort();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    this.settle.resolve();
  }
}
