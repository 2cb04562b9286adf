/**
 * Splits a send into requests the broker accepts: Kafka refuses a record batch above its
 * `message.max.bytes` (1 MiB by default), and kafkajs puts all messages of one send into one batch.
 */
import type { BusMessage } from '../bus.js';

/** Bytes a message adds to a record batch, roughly (value, key, headers, ~70 bytes of framing). */
function sizeOf(m: BusMessage): number {
  let n = 70 + m.value.length + (m.key ? Buffer.byteLength(m.key) : 0);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
  return n;
}

/** Consecutive runs of messages, each under `maxBytes` (a single larger message stands alone). */
export function chunkByBytes(messages: BusMessage[], maxBytes: number): BusMessage[][] {
  const chunks: BusMessage[][] = [];
  let current: BusMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
