/**
 * kafkajs' gzip codec decompresses with `zlib.unzip`, a stream in 16 KiB output chunks: a record
 * batch of 340 KiB is about 20 round trips through libuv's thread pool, each a callback, a buffer
 * and, on a busy machine, a wait for a core. Draining a pre-filled topic, kafkajs decoded the first
 * fetch (1 M samples, 9.7 MB of gzip) in 0.7–0.9 s of wall time, most of it idle, before a single
 * batch was handed over (docs/DECISIONS.md). Here each record batch is inflated in one synchronous
 * call into one buffer of the size gzip's trailer announces (ISIZE, the input's length mod 2^32),
 * so there is no thread hop and no concatenation of chunks: 0.06–0.09 CPU-s for that fetch instead
 * of 0.19–0.30. A trailer that lies (several gzip members, or a corrupt one) only costs more chunks:
 * the size is a hint, bounded by deflate's largest ratio and 32 MiB.
 *
 * Sync is safe here because kafkajs decodes a fetch response before it hands any batch, and fetches
 * again only after every batch of the previous fetch is done: nothing of the consumer's own runs
 * meanwhile. The event loop is held for the inflation of one record batch at a time (about 1 ms per
 * 340 KiB on this machine); timers and other connections wait at most that long per batch.
 * Compression: a request up to {@link SYNC_COMPRESS_MAX_BYTES} (a collector's once-a-second send,
 * 10–60 KB at 10 Hz) is deflated in one synchronous call too, at zlib's default level as kafkajs
 * does, so the same bytes: kafkajs' `zlib.gzip` is a thread-pool round trip per request, which for
 * a request this small costs more than the deflate itself (a second of the default set's batches,
 * 18 KB: 0.29 ms of process CPU async, 0.11 ms sync; docs/DECISIONS.md). It holds the event loop
 * for about a millisecond at most. Larger requests (loadgen, bulk producers: up to 900 KiB) go to the
 * thread pool (`zlib.gzip`, as kafkajs' own codec does), so the loop is not held for several
 * milliseconds. The collectors' own Produce requests (record-batch.ts) take the same path (gzipRequest). Registered through
 * kafkajs' documented codec table when the Kafka bus module loads; idempotent.
 */
import { promisify } from 'node:util';
import { constants, gzip as gzipAsync, gzipSync, unzipSync, type ZlibOptions } from 'node:zlib';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS and its codec table is not among the names Node detects for ESM imports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const INSTALLED = Symbol.for('isoscope.kafkajs.gzipCodec');

/** Requests up to this many bytes are deflated synchronously (1.2 ms of JSON samples at 128 KiB here). */
export const SYNC_COMPRESS_MAX_BYTES = 128 * 1024;

const gzipOnPool = promisify<Buffer, ZlibOptions, Buffer>(gzipAsync);

/** A request's records gzipped: in one synchronous call up to SYNC_COMPRESS_MAX_BYTES, else on the thread pool. */
export async function gzipRequest(records: Buffer, level: number = constants.Z_DEFAULT_COMPRESSION): Promise<Buffer> {
  return records.length <= SYNC_COMPRESS_MAX_BYTES ? gzipSync(records, { level }) : gzipOnPool(records, { level });
}

/** Makes kafkajs inflate gzip'ed record batches, and deflate small ones, in one synchronous call. */
export function installGzipCodec(): void {
  const codecs = CompressionCodecs as unknown as Record<number, (() => Codec) & { [INSTALLED]?: true }>;
  const gzip = CompressionTypes.GZIP;
  const original = codecs[gzip];
  if (!original || original[INSTALLED]) return;
  const codec: Codec = {
    compress: (encoder) => gzipRequest(encoder.buffer),
    decompress: async (buffer) => unzipSync(buffer, { chunkSize: outputHint(buffer) }),
  };
  codecs[gzip] = Object.assign(() => codec, { [INSTALLED]: true as const });
}

/** Deflate expands at most about 1032:1. */
const MAX_RATIO = 1032;
const MAX_CHUNK = 32 << 20;
/** zlib's smallest chunk. */
const MIN_CHUNK = 64;

/**
 * The output chunk for inflating `gz`: its trailer's ISIZE + 1 (one byte spare, so zlib ends with
 * room left instead of asking for a second chunk), within what the input can expand to.
 */
export function outputHint(gz: Buffer): number {
  if (gz.length < 18) return MIN_CHUNK; // shorter than a gzip header and trailer: zlib reports it
  const size = gz.readUInt32LE(gz.length - 4) + 1;
  return Math.max(MIN_CHUNK, Math.min(size, gz.length * MAX_RATIO, MAX_CHUNK));
}
