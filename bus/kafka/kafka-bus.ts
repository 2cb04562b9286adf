/** The Kafka implementation of Bus (cluster mode), on kafkajs. */
import { Kafka } from 'kafkajs';
import type { Bus, BusConsumer, BusProducer, ConsumerOptions } from '../bus.js';
import type { KafkaBusOptions } from './config.js';
import { installGzipCodec } from './gzip-codec.js';
import { DirectProducer } from './direct-producer.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { KafkaProducer } from './kafka-producer.js';
import { KAFKAJS_LOG_LEVEL, kafkaLogCreator } from './logging.js';
import { fixKafkajsIdleLoop, fixKafkajsTimeoutCheck } from './request-queue-fix.js';

// Before any connection exists: kafkajs' idle connections otherwise spin on a 1 ms timer.
fixKafkajsIdleLoop();
// ... nor time their requests on a 100 ms interval while none is in flight.
fixKafkajsTimeoutCheck();
// Before any fetch: kafkajs' own gzip inflation is a stream of 16 KiB thread-pool round trips.
installGzipCodec();

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly owned: (KafkaProducer | DirectProducer | KafkaConsumer)[] = [];

  constructor(private readonly options: KafkaBusOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'isoscope',
      brokers: options.brokers,
      logLevel: KAFKAJS_LOG_LEVEL,
      logCreator: kafkaLogCreator,
      retry: { initialRetryTime: 200, retries: 8 },
    });
  }

  async start(): Promise<void> {
    // Fail fast with a clear message when no broker answers, instead of deep inside a send.
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } catch (err) {
      throw new Error(`cannot reach Kafka at ${this.options.brokers.join(', ')}: ${(err as Error).message}. Start it (\`isoscope services start\`) or set kafka.brokers.`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async ensureTopics(topics: string[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: this.options.partitions ?? 6, replicationFactor: -1 })),
      });
    } finally {
      await admin.disconnect();
    }
  }

  producer(): BusProducer {
    const p = new KafkaProducer(this.kafka, this.options.compression ?? 'gzip');
    this.owned.push(p);
    return p;
  }

  /**
   * The collectors' producer: the same guarantees as `producer()` (idempotent, acks from all
   * replicas, in order), its Produce requests written directly instead of by kafkajs (a send once a
   * second is never hot enough for V8 to optimise kafkajs' request building; direct-producer.ts).
   */
  directProducer(): BusProducer {
    const p = new DirectProducer(this.kafka, this.options.compression ?? 'gzip');
    this.owned.push(p);
    return p;
  }

  consumer(options: ConsumerOptions): BusConsumer {
    const c = new KafkaConsumer(this.kafka, options, { maxBytesPerPartition: this.options.maxBytesPerPartition ?? 4 * 1024 * 1024, sessionTimeoutMs: this.options.sessionTimeoutMs ?? 30_000 });
    this.owned.push(c);
    return c;
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.owned.splice(0).map((c) => c.shutdown().catch(() => undefined)));
  }
}
