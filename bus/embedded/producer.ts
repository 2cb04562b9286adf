/** BusProducer on the embedded bus: `send` resolves once the messages are fdatasync'ed in the topic's log. */
import type { BusMessage, BusProducer } from '../bus.js';
import type { TopicLog } from './log.js';
import { MAX_RECORD_BYTES } from './segment.js';

/** What a producer needs from its bus. */
export interface ProducerHost {
  ready(): Promise<void>;
  topicLog(topic: string): TopicLog;
}

export class EmbeddedProducer implements BusProducer {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly host: ProducerHost) {}

  async start(): Promise<void> {
    await this.host.ready();
  }

  async send(topic: string, messages: BusMessage[]): Promise<void> {
    if (this.closed) throw new Error(`this embedded bus producer is shut down; cannot send to topic ${topic}`);
    for (const [i, m] of messages.entries()) {
      if (!(m.value instanceof Uint8Array)) throw new Error(`message ${i} for topic ${topic}: expected a Buffer value, got ${typeof m.value}`);
      if (m.key !== null && typeof m.key !== 'string') throw new Error(`message ${i} for topic ${topic}: expected a string or null key, got ${typeof m.key}`);
      if (m.value.byteLength > MAX_RECORD_BYTES - 1024 * 1024) throw new Error(`message ${i} for topic ${topic}: a value of ${m.value.byteLength} bytes is larger than the embedded bus stores (${MAX_RECORD_BYTES - 1024 * 1024} bytes)`);
      for (const [name, v] of Object.entries(m.headers ?? {})) {
        if (typeof v !== 'string') throw new Error(`message ${i} for topic ${topic}: header ${name} must be a string, got ${typeof v}`);
      }
    }
    await this.host.ready();
    const pending = this.host.topicLog(topic).append(messages);
    this.inFlight.add(pending);
    try {
      await pending;
    } finally {
      this.inFlight.delete(pending);
    }
  }

  /** Refuses new sends and waits (up to the deadline) for those in flight to be durable. */
  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.closed = true;
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => (timer = setTimeout(r, deadlineMs))),
    ]);
    clearTimeout(timer);
  }
}
