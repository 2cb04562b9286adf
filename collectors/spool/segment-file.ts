/**
 * The bytes of one spool segment: the batches one group commit made durable, back to back, each a
 * 13-byte header (body length u32, key length u16 or 0xffff for no key, topic length u8, seq u48)
 * then topic, key and body. A segment is written to `.tmp`, fdatasync'ed and renamed, so a segment
 * file is whole or absent; no checksum is needed. Also reads the one-batch files of older versions
 * (`<position>.<topic>.<seq>.batch`: has-key u8, key length u32, key, body).
 */

/** One batch as it is spooled and forwarded. */
export interface SpooledBatch {
  topic: string;
  seq: number;
  key: string | null;
  body: Buffer;
}

const HEADER = 13;
const NO_KEY = 0xffff;
/** seq is stored in 48 bits. */
const MAX_SEQ = 2 ** 48 - 1;

/** Bytes `batch` takes in a segment. */
export function spooledSize(topicBytes: number, keyBytes: number, bodyBytes: number): number {
  return HEADER + topicBytes + keyBytes + bodyBytes;
}

/**
 * The buffers to write for `batches` (headers, topic and key texts, and the bodies themselves: the
 * bodies are not copied).
 */
export function encodeSegment(batches: readonly SpooledBatch[]): Buffer[] {
  const out: Buffer[] = [];
  for (const b of batches) {
    const topic = Buffer.from(b.topic, 'utf8');
    const key = b.key === null ? null : Buffer.from(b.key, 'utf8');
    if (topic.length > 0xff) throw new RangeError(`spool: topic name of ${topic.length} bytes is longer than 255`);
    if (key && key.length >= NO_KEY) throw new RangeError(`spool: a key of ${key.length} bytes is longer than ${NO_KEY - 1}`);
    if (!Number.isSafeInteger(b.seq) || b.seq < -1 || b.seq > MAX_SEQ) throw new RangeError(`spool: seq ${b.seq} is outside -1..2^48-1`);
    const header = Buffer.allocUnsafe(HEADER + topic.length + (key?.length ?? 0));
    header.writeUInt32BE(b.body.length, 0);
    header.writeUInt16BE(key ? key.length : NO_KEY, 4);
    header.writeUInt8(topic.length, 6);
    // -1 (a message without a seq header) is stored as the largest value and read back as -1.
    header.writeUIntBE(b.seq < 0 ? MAX_SEQ : b.seq, 7, 6);
    topic.copy(header, HEADER);
    key?.copy(header, HEADER + topic.length);
    out.push(header, b.body);
  }
  return out;
}

/** The batches of a segment file's bytes; bodies are views into `raw`. */
export function decodeSegment(raw: Buffer, file: string): SpooledBatch[] {
  const out: SpooledBatch[] = [];
  let at = 0;
  while (at < raw.length) {
    if (raw.length - at < HEADER) throw new Error(`spool segment ${file} is cut short at byte ${at} (a header needs ${HEADER} bytes)`);
    const bodyLength = raw.readUInt32BE(at);
    const keyLength = raw.readUInt16BE(at + 4);
    const topicLength = raw.readUInt8(at + 6);
    const seq = raw.readUIntBE(at + 7, 6);
    const keyBytes = keyLength === NO_KEY ? 0 : keyLength;
    const end = at + HEADER + topicLength + keyBytes + bodyLength;
    if (end > raw.length) throw new Error(`spool segment ${file} is cut short: the batch at byte ${at} needs ${end - at} bytes, ${raw.length - at} are left`);
    const t = at + HEADER;
    out.push({
      topic: raw.toString('utf8', t, t + topicLength),
      seq: seq === MAX_SEQ ? -1 : seq,
      key: keyLength === NO_KEY ? null : raw.toString('utf8', t + topicLength, t + topicLength + keyBytes),
      body: raw.subarray(t + topicLength + keyBytes, end),
    });
    at = end;
  }
  return out;
}

/** The batch of an older version's one-batch file (topic and seq come from its name). */
export function decodeLegacyBatch(raw: Buffer, topic: string, seq: number): SpooledBatch {
  const hasKey = raw.readUInt8(0) === 1;
  const keyLength = raw.readUInt32BE(1);
  return { topic, seq, key: hasKey ? raw.subarray(5, 5 + keyLength).toString('utf8') : null, body: raw.subarray(5 + keyLength) };
}
