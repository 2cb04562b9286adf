/**
 * The message bus between collectors/orchestrator and ingest. Two real implementations exist:
 * Kafka (cluster mode, `bus/kafka/`) and the embedded durable log (single machine, `bus/embedded/`).
 * Both give the same guarantees: a `send` resolves only once the messages are durable on the bus,
 * and a consumer's offsets advance only when its handler has returned (i.e. the data is durable
 * downstream), so a crash anywhere re-delivers instead of losing.
 */
import type { Lifecycle } from '../schema/lifecycle.js';

/** One message as stored on the bus. */
export interface BusMessage {
  /** Partitioning key (collectors use their node name), or null. */
  key: string | null;
  /** Encoded payload (see schema/codec.ts). */
  value: Buffer;
  /** Optional string headers (the dead-letter topic uses them for the reason). */
  headers?: Record<string, string>;
}

/** A message handed to a consumer, with its position. */
export interface DeliveredMessage extends BusMessage {
  topic: string;
  partition: number;
  /** Offset within the topic partition, as a decimal string (Kafka offsets are int64). */
  offset: string;
  /** Broker/log append time, milliseconds since the epoch. */
  timestampMs: number;
}

/** A run of consecutive messages from one topic partition. */
export interface DeliveredBatch {
  topic: string;
  partition: number;
  messages: DeliveredMessage[];
  /**
   * Tells the bus the consumer is alive while a handler waits for a slow store, so Kafka does not
   * hand its partitions to another instance. Optional: the embedded bus has no sessions.
   */
  heartbeat?: () => Promise<void>;
}

export interface BusProducer extends Lifecycle {
  /**
   * Appends messages to a topic, in order; resolves once they are durable on the bus. A send that
   * fails part-way says how many leading messages the bus took (`takenBeforeFailure`), so a retry
   * resends only the rest.
   */
  send(topic: string, messages: BusMessage[]): Promise<void>;
}

/** The leading messages of a failed `send` that are durable on the bus anyway (0 unless the error says). */
export function takenBeforeFailure(err: unknown): number {
  const taken = typeof err === 'object' && err !== null ? (err as { taken?: unknown }).taken : undefined;
  return typeof taken === 'number' && Number.isSafeInteger(taken) && taken > 0 ? taken : 0;
}

/** Marks a send's error with the leading messages the bus took before it (see `takenBeforeFailure`). */
export function markTaken(err: unknown, taken: number): unknown {
  if (taken > 0 && typeof err === 'object' && err !== null) Object.assign(err, { taken });
  return err;
}

export interface ConsumerOptions {
  /** Consumer group: instances sharing it split the partitions between them. */
  group: string;
  topics: string[];
  /** Where a group without committed offsets starts. @default true */
  fromBeginning?: boolean;
  /**
   * Batches of different partitions handed to the handler at once (each still committed after its
   * own handler resolved); `'all'`: every partition's batch of a fetch at once, so that a handler
   * that waits (ingest holding live samples for the watermark) holds up no other partition, and the
   * handler limits its own work. Kafka fetches again only after every batch of a fetch was handled,
   * so either way at most one fetch is in memory. The embedded bus hands one batch at a time
   * whatever this says. @default 1
   */
  concurrency?: number | 'all';
}

/**
 * Receives batches; the offsets of a batch are committed only after `handler` resolved for it.
 * A handler that throws stops the consumer (`run` rejects) without committing that batch.
 */
export type BatchHandler = (batch: DeliveredBatch) => Promise<void>;

/** Messages of one topic partition not yet committed by a group. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export interface BusConsumer extends Lifecycle {
  /** Starts delivering; resolves once the consumer is subscribed and fetching. */
  run(handler: BatchHandler): Promise<void>;
  /**
   * Messages not yet committed by this group on the subscribed topics (summed over partitions).
   * Zero means the group has caught up with everything appended so far.
   */
  lag(): Promise<number>;
  /** The same, per topic partition (Prometheus `isoscope_ingest_lag_messages{topic,partition}`). */
  partitionLag(): Promise<PartitionLag[]>;
  /** Resolves (or rejects) when the consumer stops: after shutdown, or on a handler/bus failure. */
  stopped(): Promise<void>;
}

export interface Bus extends Lifecycle {
  readonly kind: 'kafka' | 'embedded';
  /** Creates the topics if missing (idempotent); resolves once every one of them can be produced to and consumed from. */
  ensureTopics(topics: string[]): Promise<void>;
  producer(): BusProducer;
  consumer(options: ConsumerOptions): BusConsumer;
}
