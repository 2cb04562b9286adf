/**
 * A producer that posts batches to a running isoscope (`isoscope up`, `POST /api/bus/:topic`) for
 * nodes that cannot reach Kafka. A batch is acknowledged (2xx) only after the receiver appended it
 * durably to its bus. A 4xx answer means the batch itself was refused and is classified permanent;
 * network errors and 5xx are retriable.
 */
import { PermanentError } from '../../core/errors.js';
import { markTaken, type BusMessage, type BusProducer } from '../bus.js';

export interface HttpProducerOptions {
  /** Base URL of the receiving isoscope, e.g. http://collector-hub:7410 */
  url: string;
  /** Bearer token of the receiver (its query.token). */
  token: string;
  /** Milliseconds before a request counts as failed. @default 30000 */
  timeoutMs?: number;
}

export class HttpProducer implements BusProducer {
  constructor(private readonly o: HttpProducerOptions) {}

  async start(): Promise<void> {}

  async send(topic: string, messages: BusMessage[]): Promise<void> {
    for (const [i, m] of messages.entries()) {
      try {
        await this.post(topic, m);
      } catch (err) {
        throw markTaken(err, i); // the receiver appended the ones before
      }
    }
  }

  private async post(topic: string, m: BusMessage): Promise<void> {
    const res = await fetch(`${this.o.url.replace(/\/$/, '')}/api/bus/${encodeURIComponent(topic)}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${this.o.token}`,
        ...(m.key !== null ? { 'x-isoscope-key': encodeURIComponent(m.key) } : {}),
      },
      body: new Uint8Array(m.value) as Uint8Array<ArrayBuffer>, // a copy on its own ArrayBuffer, as fetch requires
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
    });
    if (res.ok) return;
    const text = await res.text().catch(() => '');
    const reason = `${this.o.url} answered HTTP ${res.status} to a ${topic} batch: ${text.slice(0, 500)}`;
    throw res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 ? new PermanentError(reason) : new Error(reason);
  }

  async shutdown(): Promise<void> {}
}
