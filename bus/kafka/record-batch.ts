/**
 * A Kafka Produce request (version 3) for one partition, written straight into one buffer: the
 * request's fields, then a record batch of magic 2 (its records gzip'ed or not, idempotent producer
 * id, epoch and base sequence) with its CRC-32C. The bytes are the ones kafkajs writes for the same
 * messages, timestamp and producer state (`record-batch.test.ts` compares them), without kafkajs'
 * encoder objects: at once a second, a collector's send never gets hot enough for V8 to optimise
 * kafkajs' request building, which cost more CPU than the rest of the collector (docs/DECISIONS.md).
 *
 * Layout (Kafka's protocol guide): transactional_id (null), acks, timeout, [topic, [partition,
 * record batch]]; a record batch is base offset, length, partition leader epoch, magic, CRC-32C
 * (of everything after it), attributes, last offset delta, first and max timestamp, producer id and
 * epoch, base sequence, record count, records; a record is its length, attributes, timestamp delta,
 * offset delta, key, value and headers, the integers as zigzag varints.
 */
import type { BusMessage } from '../bus.js';
import { crc32c } from '../../core/crc32c.js';
import { gzipRequest } from './gzip-codec.js';

/** Record batch attributes: compression codec in the low three bits (gzip = 1). */
const GZIP = 1;
const MAGIC = 2;

export interface ProduceRequestOptions {
  topic: string;
  partition: number;
  messages: readonly BusMessage[];
  /** Create time of every record, ms since the epoch. */
  timestampMs: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  compression: 'none' | 'gzip';
  /** @default -1 (all in-sync replicas) */
  acks?: number;
  /** How long the broker may wait for the replicas, ms. @default 30000 */
  timeoutMs?: number;
  /** zlib level for gzip. @default zlib's default (6), the bytes kafkajs writes */
  gzipLevel?: number;
}

/** The body of a Produce v3 request (what follows the request header). */
export async function encodeProduceRequest(o: ProduceRequestOptions): Promise<Buffer> {
  let records = encodeRecords(o.messages);
  let attributes = 0;
  if (o.compression === 'gzip') {
    // Small requests (a collector's second of batches) in one call, larger ones on the thread pool, as for kafkajs.
    records = await gzipRequest(records, o.gzipLevel);
    attributes = GZIP;
  }
  const topic = Buffer.from(o.topic, 'utf8');
  // Batch fields from attributes on (what the CRC covers) before the records: 2+4+8+8+8+2+4+4.
  const batchTail = 40 + records.length;
  // Base offset 8, length 4, leader epoch 4, magic 1, CRC 4.
  const batchBytes = 21 + batchTail;
  const head = 2 + 2 + 4 + 4 + 2 + topic.length + 4 + 4 + 4;
  const out = Buffer.allocUnsafe(head + batchBytes);
  let p = 0;
  p = out.writeInt16BE(-1, p); // transactional_id: null
  p = out.writeInt16BE(o.acks ?? -1, p);
  p = out.writeInt32BE(o.timeoutMs ?? 30_000, p);
  p = out.writeInt32BE(1, p); // one topic
  p = out.writeInt16BE(topic.length, p);
  p += topic.copy(out, p);
  p = out.writeInt32BE(1, p); // one partition
  p = out.writeInt32BE(o.partition, p);
  p = out.writeInt32BE(batchBytes, p); // the record set's bytes
  p = out.writeBigInt64BE(0n, p); // base offset (the broker assigns it)
  p = out.writeInt32BE(batchBytes - 12, p); // bytes after this field
  p = out.writeInt32BE(0, p); // partition leader epoch (the broker sets it; kafkajs writes 0)
  p = out.writeInt8(MAGIC, p);
  const crcAt = p;
  p += 4;
  const tailAt = p;
  p = out.writeInt16BE(attributes, p);
  p = out.writeInt32BE(o.messages.length - 1, p); // last offset delta
  p = out.writeBigInt64BE(BigInt(o.timestampMs), p); // first timestamp
  p = out.writeBigInt64BE(BigInt(o.timestampMs), p); // max timestamp
  p = out.writeBigInt64BE(o.producerId, p);
  p = out.writeInt16BE(o.producerEpoch, p);
  p = out.writeInt32BE(o.baseSequence, p);
  p = out.writeInt32BE(o.messages.length, p);
  p += records.copy(out, p);
  out.writeUInt32BE(crc32c(out.subarray(tailAt, p)), crcAt);
  return out;
}

/** The records of a batch, uncompressed: every timestamp delta 0 (one create time for the batch). */
export function encodeRecords(messages: readonly BusMessage[]): Buffer {
  const keys: (Buffer | null)[] = [];
  const headers: [Buffer, Buffer][][] = [];
  const bodies: number[] = [];
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const key = m.key === null ? null : Buffer.from(m.key, 'utf8');
    const hs: [Buffer, Buffer][] = [];
    if (m.headers) for (const k of Object.keys(m.headers)) hs.push([Buffer.from(k, 'utf8'), Buffer.from(m.headers[k]!, 'utf8')]);
    // attributes 1, timestamp delta 0 (1 byte), offset delta, key, value, headers
    let body = 1 + 1 + varintSize(i) + (key ? varintSize(key.length) + key.length : 1) + varintSize(m.value.length) + m.value.length + varintSize(hs.length);
    for (const [k, v] of hs) body += varintSize(k.length) + k.length + varintSize(v.length) + v.length;
    keys.push(key);
    headers.push(hs);
    bodies.push(body);
    total += varintSize(body) + body;
  }
  const out = Buffer.allocUnsafe(total);
  let p = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    p = writeVarint(out, p, bodies[i]!);
    out[p++] = 0; // record attributes
    out[p++] = 0; // timestamp delta 0
    p = writeVarint(out, p, i);
    const key = keys[i]!;
    if (key) {
      p = writeVarint(out, p, key.length);
      p += key.copy(out, p);
    } else p = writeVarint(out, p, -1);
    p = writeVarint(out, p, m.value.length);
    p += m.value.copy(out, p);
    const hs = headers[i]!;
    p = writeVarint(out, p, hs.length);
    for (const [k, v] of hs) {
      p = writeVarint(out, p, k.length);
      p += k.copy(out, p);
      p = writeVarint(out, p, v.length);
      p += v.copy(out, p);
    }
  }
  return out;
}

/** Bytes of a zigzag varint (32-bit signed). */
function varintSize(v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (z >= 0x80) {
    z >>>= 7;
    n++;
  }
  return n;
}

function writeVarint(out: Buffer, p: number, v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    out[p++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  out[p++] = z;
  return p;
}
