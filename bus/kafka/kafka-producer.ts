/** BusProducer on Kafka: sends with acks from all in-sync replicas, so a resolved send is durable. */
import { CompressionTypes, Partitioners, type Kafka, type Producer } from 'kafkajs';
import { markTaken, type BusMessage, type BusProducer } from '../bus.js';
import { chunkByBytes } from './chunk.js';

/** Below the broker's default message.max.bytes (1 MiB), with room for batch framing. */
const MAX_REQUEST_BYTES = 900 * 1024;

export class KafkaProducer implements BusProducer {
  private readonly producer: Producer;
  private started = false;

  /** @param compression of each request; JSON batches shrink ~10× with gzip (bench/codec.bench.ts). */
  constructor(kafka: Kafka, private readonly compression: 'none' | 'gzip' = 'gzip') {
    // Idempotent (one request in flight, sequence-numbered by the broker): a retried request is not
    // written twice. The store's dedup keys would remove such duplicates anyway; this keeps the topic
    // itself exact, so replays downstream are only the ones that really happened.
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.producer.connect();
    this.started = true;
  }

  async send(topic: string, messages: BusMessage[]): Promise<void> {
    if (!this.started) await this.start();
    let taken = 0;
    for (const chunk of chunkByBytes(messages, MAX_REQUEST_BYTES)) {
      try {
        await this.producer.send({
          topic,
          acks: -1,
          compression: this.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
          messages: chunk.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) })),
        });
      } catch (err) {
        throw markTaken(err, taken); // the requests before were acknowledged
      }
      taken += chunk.length;
    }
  }

  async shutdown(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.producer.disconnect();
  }
}
