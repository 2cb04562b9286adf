/**
 * The gzip codec kafkajs uses once the Kafka bus is loaded: the same bytes as zlib's own inflation
 * (also when the size hint of the trailer is wrong: several gzip members), and on the real Kafka
 * gzip'ed messages come back exactly, through this codec.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync, unzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../test/services.js';
import { installGzipCodec, outputHint, SYNC_COMPRESS_MAX_BYTES } from './gzip-codec.js';
import { KafkaBus } from './kafka-bus.js';

type Codec = { decompress(b: Buffer): Promise<Buffer>; compress(e: { buffer: Buffer }): Promise<Buffer> };
const codec = (): Codec => (kafkajs.CompressionCodecs as unknown as Record<number, () => Codec>)[kafkajs.CompressionTypes.GZIP]!();

describe('gzip codec', () => {
  it('inflates to the same bytes as zlib, whatever the trailer says', async () => {
    installGzipCodec();
    installGzipCodec(); // idempotent
    const text = Buffer.from('samples,node=n1 value=1i 1\n'.repeat(20_000));
    const noise = randomBytes(300_000);
    const cases: Buffer[] = [
      gzipSync(text),
      gzipSync(noise), // incompressible: output about the input's size
      gzipSync(Buffer.alloc(0)),
      Buffer.concat([gzipSync(text), gzipSync(noise)]), // two members: the trailer names the last one only
    ];
    for (const gz of cases) expect((await codec().decompress(gz)).equals(unzipSync(gz))).toBe(true);
    await expect(codec().decompress(Buffer.from('not gzip at all, long enough'))).rejects.toThrow(/header/);
    // Small requests are deflated here (synchronously), large ones by kafkajs: both inflate back,
    // and both are zlib's default level, the bytes kafkajs' own codec gives.
    const small = text.subarray(0, SYNC_COMPRESS_MAX_BYTES);
    expect(text.length).toBeGreaterThan(SYNC_COMPRESS_MAX_BYTES);
    for (const b of [small, text]) {
      const gz = await codec().compress({ buffer: b });
      expect(unzipSync(gz).equals(b)).toBe(true);
      expect(gz.equals(gzipSync(b))).toBe(true);
    }
  });

  it('bounds the size hint by what the input can expand to', () => {
    const gz = gzipSync(Buffer.alloc(1000));
    expect(outputHint(gz)).toBe(1001);
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(0xffffffff, lying.length - 4);
    expect(outputHint(lying)).toBe(lying.length * 1032);
    expect(outputHint(Buffer.alloc(5))).toBe(64);
  });
});

describe('gzip codec on the real Kafka', () => {
  let bus: KafkaBus;
  beforeAll(async () => {
    bus = new KafkaBus({ brokers: testServices().kafka.brokers, partitions: 2 });
    await bus.start();
  });
  afterAll(() => bus.shutdown());

  it('delivers gzip’ed messages exactly', async () => {
    const topic = uniqueName('gzip-codec');
    await bus.ensureTopics([topic]);
    const values = Array.from({ length: 50 }, (_, i) => Buffer.concat([Buffer.from(`m${i} `), randomBytes(i * 997), Buffer.alloc(20_000, i)]));
    const producer = bus.producer();
    await producer.start();
    await producer.send(topic, values.map((value, i) => ({ key: `k${i % 5}`, value })));
    let inflated = 0;
    const own = codec();
    const counting = { ...own, decompress: async (b: Buffer) => (inflated++, own.decompress(b)) };
    const table = kafkajs.CompressionCodecs as unknown as Record<number, () => Codec>;
    const installed = table[kafkajs.CompressionTypes.GZIP]!;
    table[kafkajs.CompressionTypes.GZIP] = () => counting;
    try {
      const got = new Map<string, Buffer>();
      const consumer = bus.consumer({ group: uniqueName('gzip-codec-group'), topics: [topic], fromBeginning: true });
      await consumer.run(async (b) => void b.messages.forEach((m) => got.set(m.value.subarray(0, m.value.indexOf(0x20)).toString(), m.value)));
      const deadline = Date.now() + 30_000;
      while (got.size < values.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await consumer.shutdown();
      expect(got.size).toBe(values.length);
      values.forEach((v, i) => expect(got.get(`m${i}`)!.equals(v)).toBe(true));
      expect(inflated).toBeGreaterThan(0);
    } finally {
      table[kafkajs.CompressionTypes.GZIP] = installed;
    }
  });
});
