/**
 * The collector's own Produce request is byte for byte the one kafkajs writes for the same messages,
 * create time and producer state (gzip'ed with the codec kafkajs uses here, or not), for random
 * keys, values and headers; and CRC-32C is Castagnoli's.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../bus.js';
import { crc32c } from '../../core/crc32c.js';
import { installGzipCodec } from './gzip-codec.js';
import { encodeProduceRequest, encodeRecords } from './record-batch.js';

const require = createRequire(import.meta.url);
type KafkajsRequest = { encode(): Promise<{ buffer: Buffer }> };
const kafkajsProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (o: object) => KafkajsRequest;
const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown };

let seed = 7;
const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);

function randomMessage(): BusMessage {
  const m: BusMessage = { key: rand(4) === 0 ? null : `node-${rand(1000)}${'é'.repeat(rand(3))}`, value: rand(5) === 0 ? randomBytes(rand(3000)) : Buffer.from(`{"v":2,"n":${rand(1e6)}}`.repeat(rand(400) + 1)) };
  if (rand(3) === 0) m.headers = Object.fromEntries(Array.from({ length: rand(3) + 1 }, (_, i) => [`h${i}${'ü'.repeat(rand(2))}`, String(rand(1e9))]));
  return m;
}

describe('encodeProduceRequest', () => {
  it('writes the bytes kafkajs writes for the same records', async () => {
    installGzipCodec(); // what the Kafka bus installs: the same deflate as ours
    for (let round = 0; round < 60; round++) {
      const messages = Array.from({ length: rand(round < 10 ? 3 : 200) + 1 }, randomMessage);
      const compression = round % 2 === 0 ? 'gzip' : 'none';
      const timestampMs = 1_796_000_000_000 + rand(1e6);
      const producerId = BigInt(rand(1e6)) * 1000n;
      const producerEpoch = rand(30);
      const baseSequence = rand(2 ** 30);
      const topic = round % 3 ? 'samples' : 'tópico-ü';
      const partition = rand(12);
      const ours = await encodeProduceRequest({ topic, partition, messages, timestampMs, producerId, producerEpoch, baseSequence, compression });
      const theirs = await kafkajsProduceV3({
        acks: -1, timeout: 30_000, compression: compression === 'gzip' ? kafkajs.CompressionTypes.GZIP : kafkajs.CompressionTypes.None,
        producerId: Long.fromString(String(producerId)), producerEpoch,
        topicData: [{ topic, partitions: [{ partition, firstSequence: baseSequence, messages: messages.map((m) => ({ ...m, timestamp: timestampMs })) }] }],
      }).encode();
      expect(ours.equals(theirs.buffer), `round ${round}: ${messages.length} messages, ${compression}`).toBe(true);
      if (compression === 'gzip') {
        // The collectors' level (zlib's fastest): other deflate bytes, the same records inside.
        const fast = await encodeProduceRequest({ topic, partition, messages, timestampMs, producerId, producerEpoch, baseSequence, compression, gzipLevel: 1 });
        const recordsAt = 2 + 2 + 4 + 4 + 2 + Buffer.byteLength(topic) + 4 + 4 + 4 + 61;
        expect(gunzipSync(fast.subarray(recordsAt)).equals(encodeRecords(messages))).toBe(true);
        expect(crc32c(fast.subarray(recordsAt - 40))).toBe(fast.readUInt32BE(recordsAt - 44));
      }
    }
  });

  it('checks batches with CRC-32C', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43); // RFC 3720 B.4
  });
});
