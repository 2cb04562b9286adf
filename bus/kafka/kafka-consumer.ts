/**
 * BusConsumer on Kafka: a consumer-group member that hands each fetched batch to the handler and
 * commits the batch's offsets only after the handler resolved. Automatic commits are off and the
 * consumer does not restart itself after a handler failure: the failure surfaces in `stopped()`.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { componentLogger } from '../../core/logger.js';
import type { BatchHandler, BusConsumer, ConsumerOptions, DeliveredBatch, PartitionLag } from '../bus.js';

/** An error of the batch handler (not of Kafka): it stops the consumer instead of restarting it. */
class HandlerError extends Error {
  constructor(readonly original: unknown) {
    super((original as Error)?.message ?? String(original));
    this.name = 'HandlerError';
  }
}

/** Commit failures that only mean the partition changed owner meanwhile. */
function lostToRebalance(err: unknown): boolean {
  const type = (err as { type?: string }).type ?? '';
  return ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'].includes(type) || (err as Error).name === 'KafkaJSStaleTopicMetadataAssignment';
}

export class KafkaConsumer implements BusConsumer {
  private readonly log = componentLogger('bus.kafka');
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private running = false;
  private stoppedPromise: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };

  private readonly heartbeatMs: number;

  constructor(kafka: Kafka, private readonly options: ConsumerOptions, maxBytesPerPartition: number, sessionTimeoutMs = 30_000) {
    this.heartbeatMs = Math.max(500, Math.floor(sessionTimeoutMs / 10));
    this.consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: this.heartbeatMs,
      allowAutoTopicCreation: false,
      maxBytesPerPartition,
      // A failing handler stops the consumer (the caller decides); a bus failure (broker away, retries
      // exhausted) restarts it: the group rejoins and resumes from the committed offsets.
      retry: {
        retries: 5,
        restartOnFailure: async (err) => {
          if (err instanceof HandlerError || (err as { cause?: unknown }).cause instanceof HandlerError) return false;
          this.log.warn({ err, group: options.group }, `The Kafka consumer of group ${options.group} failed (${err.message}); restarting it.`);
          return true;
        },
      },
    });
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
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (e.payload.restart) return; // restarting itself (see restartOnFailure)
      const err = e.payload.error;
      this.settle.reject(err instanceof HandlerError ? err.original : err);
    });
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
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
          await handler(delivered);
        } catch (err) {
          throw new HandlerError(err);
        } finally {
          clearInterval(beating);
        }
        const last = batch.messages[batch.messages.length - 1]!.offset;
        try {
          await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        } catch (err) {
          if (!lostToRebalance(err)) throw err;
          // The partition moved while the batch was in hand (a member joined or died). The rows are
          // written; uncommitted, the batch goes again to the partition's owner and overwrites itself.
          this.log.info({ topic: batch.topic, partition: batch.partition, reason: (err as Error).message }, 'A commit was lost to a group rebalance; the batch will be redelivered (deduplicated by the store).');
          return;
        }
        resolveOffset(last);
      },
    });
  }

  async lag(): Promise<number> {
    return (await this.partitionLag()).reduce((sum, p) => sum + p.lag, 0);
  }

  async partitionLag(): Promise<PartitionLag[]> {
    const lags: PartitionLag[] = [];
    const committed = await this.admin.fetchOffsets({ groupId: this.options.group, topics: this.options.topics });
    for (const { topic, partitions } of committed) {
      const ends = await this.admin.fetchTopicOffsets(topic);
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
    await this.consumer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    this.settle.resolve();
  }
}
