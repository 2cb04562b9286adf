/**
 * The collectors' Kafka producer: writes each Produce request itself (record-batch.ts) and sends it
 * on a kafkajs broker connection, leaving kafkajs what it does once (connections, metadata, the
 * leaders, InitProducerId) and skipping what it does per request (its message grouping, encoder
 * objects, idempotence bookkeeping under locks). A collector sends once a second, so kafkajs'
 * request path never got hot enough for V8 to optimise it and cost more CPU than reading the whole
 * default measurement set (docs/DECISIONS.md, issue 19).
 *
 * The guarantees are kafkajs' idempotent producer's (kafka-producer.ts): acks from all in-sync
 * replicas, one request in flight, batches sequence-numbered per partition under a producer id, so a
 * request retried after a lost answer is not written twice; messages keep their order within a
 * partition and go to the partition kafkajs' default partitioner picks for their key. A failed
 * request is retried with the same sequence after the metadata is refreshed (a leader moved, the
 * broker restarted); a broker that no longer knows the producer (its state expired or was lost)
 * gets a new producer id and sequences from 0, where kafkajs stopped sending for good. A duplicate
 * the broker reports is a success: the batch is on the log. Uses kafkajs 2.2.4 internals (the
 * cluster behind `Kafka`, the v3 produce response decoder), as request-queue-fix.ts does.
 */
import { createRequire } from 'node:module';
import { Partitioners, type Kafka, type PartitionMetadata } from 'kafkajs';
import { markTaken, type BusMessage, type BusProducer } from '../bus.js';
import { withBackoff } from '../../core/backoff.js';
import { chunkByBytes } from './chunk.js';
import { encodeProduceRequest } from './record-batch.js';

const require = createRequire(import.meta.url);

/** Below the broker's default message.max.bytes (1 MiB), with room for batch framing (as kafka-producer.ts). */
const MAX_REQUEST_BYTES = 900 * 1024;
/** Attempts of one request before the error goes to the caller (kafkajs' retry setting on the bus: 8 retries). */
const ATTEMPTS = 9;
const INT32_MAX = 2 ** 31 - 1;
/**
 * zlib's fastest level: a collector's second of batches (41 KB at 10 Hz) deflates in 63 µs instead
 * of 180 µs in a loop (about 0.4 ms cold, once a second), to 2.3 KB instead of 2.0 (docs/DECISIONS.md).
 */
const GZIP_LEVEL = 1;

/** The parts of kafkajs' internal cluster and brokers used here (kafkajs 2.2.4). */
interface Broker {
  connectionPool: { send(protocol: { request: object; response: object; requestTimeout?: number }): Promise<unknown> };
  initProducerId(o: { transactionalId?: string; transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  disconnect(): Promise<void>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(o: { nodeId: string | number }): Promise<Broker>;
  findControllerBroker(): Promise<Broker>;
  removeBroker(o: { host: string; port: number }): void;
}
interface KafkaError { name?: string; type?: string; retriable?: boolean; host?: string; port?: number }

const produceV3Response = require('kafkajs/src/protocol/requests/produce/v3/response.js') as { decode(b: Buffer): Promise<unknown>; parse(d: unknown): Promise<unknown> };

/** Broker answers that mean it no longer holds this producer's state: a new producer id, then the same batch again. */
const PRODUCER_FENCED = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
const STALE_METADATA = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

/** kafkajs' cluster for this Kafka, as its own producer makes one (the factory is private to kafkajs' `Kafka`). */
function createCluster(kafka: Kafka): Cluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') throw new Error('this kafkajs has no cluster factory on Kafka (the collectors\' producer needs kafkajs 2.2)');
  // kafkajs' producer default for the metadata's age (its cluster's own default, 0, asks for metadata before every send).
  return (create as (o: object) => Cluster)({ allowAutoTopicCreation: false, maxInFlightRequests: 1, metadataMaxAge: 300_000 });
}

export class DirectProducer implements BusProducer {
  private cluster: Cluster | null = null;
  private producerId = -1n;
  private producerEpoch = 0;
  /** Next base sequence per `topic:partition`. */
  private readonly sequences = new Map<string, number>();
  private readonly topics = new Set<string>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  /** Sends run one at a time (one request in flight, sequences in order). */
  private queue: Promise<unknown> = Promise.resolve();
  private starting: Promise<void> | null = null;

  /** @param compression of each request's records; as kafka-producer.ts. */
  constructor(private readonly kafka: Kafka, private readonly compression: 'none' | 'gzip' = 'gzip') {}

  /** Connects and gets a producer id (kafkajs' idempotent producer does the same in connect()). */
  start(): Promise<void> {
    this.starting ??= this.connect().catch((err: unknown) => {
      this.starting = null; // the next send tries again
      throw err;
    });
    return this.starting;
  }

  private async connect(): Promise<void> {
    this.cluster ??= createCluster(this.kafka);
    await this.cluster.connect();
    await this.initProducerId();
  }

  private async initProducerId(): Promise<void> {
    const cluster = this.cluster!;
    await cluster.refreshMetadataIfNecessary();
    const broker = await cluster.findControllerBroker(); // any broker answers a non-transactional producer
    const { producerId, producerEpoch } = await broker.initProducerId({ transactionTimeout: 60_000 });
    this.producerId = BigInt(producerId);
    this.producerEpoch = producerEpoch;
    this.sequences.clear();
  }

  send(topic: string, messages: BusMessage[]): Promise<void> {
    const run = this.queue.then(() => this.sendInOrder(topic, messages));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendInOrder(topic: string, messages: BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
    let taken = 0;
    try {
      await this.start();
      const cluster = this.cluster!;
      if (!this.topics.has(topic)) {
        await cluster.addTargetTopic(topic);
        this.topics.add(topic);
      }
      await cluster.refreshMetadataIfNecessary();
      // Runs of messages bound for one partition, in order (a collector's messages share a key: one run).
      for (let i = 0; i < messages.length;) {
        const partition = this.partitionOf(topic, messages[i]!);
        let j = i + 1;
        while (j < messages.length && this.partitionOf(topic, messages[j]!) === partition) j++;
        for (const chunk of chunkByBytes(messages.slice(i, j), MAX_REQUEST_BYTES)) {
          await this.produce(topic, partition, chunk);
          taken += chunk.length;
        }
        i = j;
      }
    } catch (err) {
      throw markTaken(err, taken); // the requests before were acknowledged
    }
  }

  private partitionOf(topic: string, m: BusMessage): number {
    const partitionMetadata = this.cluster!.findTopicPartitionMetadata(topic);
    return this.partitioner({ topic, partitionMetadata, message: { key: m.key, value: m.value } });
  }

  /** One record batch to its partition's leader, retried (same sequence) until the broker took it. */
  private async produce(topic: string, partition: number, messages: BusMessage[]): Promise<void> {
    const key = `${topic}:${partition}`;
    let attempt = 0;
    await withBackoff(
      async () => {
        attempt++;
        const cluster = this.cluster!;
        const baseSequence = this.sequences.get(key) ?? 0;
        const body = await encodeProduceRequest({
          topic, partition, messages, timestampMs: Date.now(), compression: this.compression,
          producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence, gzipLevel: GZIP_LEVEL,
        });
        try {
          const leader = cluster.findTopicPartitionMetadata(topic).find((p) => p.partitionId === partition)?.leader;
          if (leader === undefined || leader === null) throw Object.assign(new Error(`no leader known for ${topic} partition ${partition}`), { type: 'LEADER_NOT_AVAILABLE', retriable: true });
          const broker = await cluster.findBroker({ nodeId: leader });
          await this.request(broker, body);
        } catch (err) {
          const e = err as KafkaError;
          if (e.type !== 'DUPLICATE_SEQUENCE_NUMBER') {
            await this.recover(e);
            throw err;
          }
          // The broker has this batch already (a retry of a request whose answer was lost): taken.
        }
        const next = baseSequence + messages.length;
        this.sequences.set(key, next > INT32_MAX ? next - INT32_MAX - 1 : next); // Kafka's sequences wrap to 0
      },
      { initialMs: 200, maxMs: 5000, retriable: (err) => attempt < ATTEMPTS && (err as KafkaError).retriable !== false },
    );
  }

  private async request(broker: Broker, body: Buffer): Promise<void> {
    try {
      await broker.connectionPool.send({
        request: { apiKey: 0, apiVersion: 3, apiName: 'Produce', expectResponse: () => true, encode: async () => ({ buf: body, buffer: body }) },
        response: produceV3Response,
      });
    } catch (err) {
      if ((err as KafkaError).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => undefined); // as kafkajs' Broker does
      throw err;
    }
  }

  /**
   * Gets ready for the next attempt after a failed one, as kafkajs' sendMessages does (reconnect,
   * forget a closed broker, refresh stale metadata), and takes a new producer id where the broker
   * lost this one (the error is then marked retriable: the batch goes again under the new id).
   */
  private async recover(e: KafkaError): Promise<void> {
    const cluster = this.cluster!;
    try {
      if (e.name === 'KafkaJSConnectionClosedError' && e.host !== undefined && e.port !== undefined) cluster.removeBroker({ host: e.host, port: e.port });
      if (!cluster.isConnected()) await cluster.connect();
      if (e.type !== undefined && PRODUCER_FENCED.has(e.type)) {
        await this.initProducerId();
        e.retriable = true;
        return;
      }
      if ((e.type !== undefined && STALE_METADATA.has(e.type)) || e.retriable !== false || e.name?.startsWith('KafkaJSConnection')) await cluster.refreshMetadata();
    } catch {
      // still away: the next attempt (or the caller's retry) tries again
    }
  }

  /** Disconnects; a send still retrying then fails (behind the spool its batches stay on disk). */
  async shutdown(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = null;
    this.starting = null;
    this.topics.clear();
    await cluster?.disconnect();
  }
}
