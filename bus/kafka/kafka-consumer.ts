/**
 * BusConsumer on Kafka: a consumer-group member that hands each fetched batch to the handler and
 * commits the batch's offsets only after the handler resolved. Automatic commits are off and the
 * consumer does not restart itself after a handler failure: the failure surfaces in `stopped()`.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { BatchHandler, BusConsumer, ConsumerOptions, DeliveredBatch, PartitionLag } from '../bus.js';

export class KafkaConsumer implements BusConsumer {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private running = false;
  private stoppedPromise: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };

  constructor(kafka: Kafka, private readonly options: ConsumerOptions, maxBytesPerPartition: number) {
    this.consumer = kafka.consumer({
      groupId: options.group,
      allowAutoTopicCreation: false,
      maxBytesPerPartition,
      retry: { retries: 5, restartOnFailure: async () => false },
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
    this.consumer.on(this.consumer.events.CRASH, (e) => this.settle.reject(e.payload.error));
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
        await handler(delivered);
        const last = batch.messages[batch.messages.length - 1]!.offset;
        await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
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
