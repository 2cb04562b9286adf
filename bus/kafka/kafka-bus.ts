/** The Kafka implementation of Bus (cluster mode), on kafkajs. */
import { Kafka, type Admin } from 'kafkajs';
import { withBackoff } from '../../core/backoff.js';
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

  /**
   * Creates the topics that do not exist, and resolves once every one of `topics` can be used: in
   * the broker's metadata with a leader for each partition. Only then, because right after a create
   * (this client's, or another's racing it: `isoscope ingest` and the collectors start together on a
   * fresh Kafka) the broker can still answer UNKNOWN_TOPIC_OR_PARTITION, which kafkajs retries
   * neither in a consumer's subscribe nor in a metadata call; and a create that finds a topic
   * already made by the other client returns without waiting for any leader. An ingest that
   * subscribed then died at start with "This server does not host this topic-partition" (a fault
   * test, once, docs/DECISIONS.md).
   */
  async ensureTopics(topics: string[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: this.options.partitions ?? 6, replicationFactor: -1 })),
        });
      }
      await topicsReady(admin, topics);
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

/** How long ensureTopics waits for a created topic to be usable before it gives up. */
const TOPICS_READY_MS = 30_000;

/** Waits until every topic is in the metadata with a leader per partition (see ensureTopics). */
export async function topicsReady(admin: Admin, topics: string[], deadlineMs = TOPICS_READY_MS): Promise<void> {
  try {
    await withBackoff(
      async () => {
        const { topics: known } = await admin.fetchTopicMetadata({ topics });
        const waiting = topics.filter((t) => {
          const meta = known.find((k) => k.name === t);
          return !meta || meta.partitions.length === 0 || meta.partitions.some((p) => p.leader < 0);
        });
        if (waiting.length > 0) throw Object.assign(new Error(`no leader yet for every partition of ${waiting.join(', ')}`), { retriable: true });
      },
      // kafkajs marks UNKNOWN_TOPIC_OR_PARTITION and LEADER_NOT_AVAILABLE retriable; anything else
      // (an authorisation error, a broker that went away for good) is not waited out here.
      { initialMs: 50, maxMs: 1000, deadlineMs, retriable: (err) => (err as { retriable?: boolean }).retriable === true },
    );
  } catch (err) {
    const waited = (err as { retriable?: boolean }).retriable === true ? ` after waiting ${deadlineMs / 1000} s for every partition to have a leader` : '';
    throw new Error(`Kafka topics ${topics.join(', ')} are not usable${waited}: ${(err as Error).message}`);
  }
}
