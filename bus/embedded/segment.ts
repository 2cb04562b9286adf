/**
 * The on-disk record format of the embedded bus. A segment file is a sequence of frames:
 *
 *   u32 bodyLength | u32 crc32(body) | body
 *   body = u8 version(1) | u64 offset | u64 timestampMs | i32 keyLength (-1 = null) | key
 *          | u32 headerCount | (u32 nameLength | name | u32 valueLength | value)*
 *          | u32 valueLength | value
 *
 * All integers are big-endian. The CRC lets recovery tell a complete record from one torn by a
 * crash in the middle of a write; a frame whose bytes run past the end of the file is torn too.
 */
import { crc32 } from '../../core/crc32.js';
import type { BusMessage } from '../bus.js';

/** One record as stored in a segment. */
export interface StoredRecord {
  offset: number;
  timestampMs: number;
  key: string | null;
  headers: Record<string, string>;
  value: Buffer;
}

/** Outcome of reading the frame that starts at a position of a buffer. */
export type FrameRead =
  | { kind: 'record'; record: StoredRecord; next: number }
  /** The frame needs `need` bytes from its start, more than the buffer holds from there. */
  | { kind: 'incomplete'; need: number }
  | { kind: 'corrupt'; reason: string };

export const FRAME_HEADER_BYTES = 8;
const FORMAT_VERSION = 1;
const MIN_BODY_BYTES = 1 + 8 + 8 + 4 + 4 + 4;
/** Larger frames are taken for garbage left by a torn write. */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024;

/** Segment files are named after the offset of their first record, zero-padded so they sort. */
export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** The base offset of a segment file name, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Encodes one message as a complete frame. */
export function encodeRecord(offset: number, timestampMs: number, message: BusMessage): Buffer {
  return encodeRecords(offset, timestampMs, [message]);
}

/** Encodes consecutive messages from `firstOffset` into one buffer of complete frames. */
export function encodeRecords(firstOffset: number, timestampMs: number, messages: readonly BusMessage[]): Buffer {
  const sizes = messages.map(bodySize);
  const frames = Buffer.allocUnsafe(sizes.reduce((n, size) => n + FRAME_HEADER_BYTES + size, 0));
  let pos = 0;
  messages.forEach((message, i) => {
    const size = sizes[i]!;
    const body = pos + FRAME_HEADER_BYTES;
    writeBody(frames, body, firstOffset + i, timestampMs, message);
    frames.writeUInt32BE(size, pos);
    frames.writeUInt32BE(crc32(frames.subarray(body, body + size)), pos + 4);
    pos = body + size;
  });
  return frames;
}

function bodySize(message: BusMessage): number {
  let size = MIN_BODY_BYTES + message.value.byteLength + (message.key === null ? 0 : Buffer.byteLength(message.key));
  if (message.headers) for (const k in message.headers) size += 8 + Buffer.byteLength(k) + Buffer.byteLength(message.headers[k]!);
  return size;
}

/** u64 big-endian without BigInt (offsets and times stay below 2^53). */
function writeU64(buf: Buffer, value: number, pos: number): number {
  buf.writeUInt32BE(Math.floor(value / 2 ** 32), pos);
  return buf.writeUInt32BE(value % 2 ** 32, pos + 4);
}

function writeBody(buf: Buffer, start: number, offset: number, timestampMs: number, message: BusMessage): void {
  let p = buf.writeUInt8(FORMAT_VERSION, start);
  p = writeU64(buf, offset, p);
  p = writeU64(buf, timestampMs, p);
  if (message.key === null) p = buf.writeInt32BE(-1, p);
  else {
    const n = buf.write(message.key, p + 4, 'utf8');
    buf.writeInt32BE(n, p);
    p += 4 + n;
  }
  const headers = message.headers ? Object.entries(message.headers) : [];
  p = buf.writeUInt32BE(headers.length, p);
  for (const [k, v] of headers) {
    const kn = buf.write(k, p + 4, 'utf8');
    buf.writeUInt32BE(kn, p);
    p += 4 + kn;
    const vn = buf.write(v, p + 4, 'utf8');
    buf.writeUInt32BE(vn, p);
    p += 4 + vn;
  }
  const value = message.value;
  p = buf.writeUInt32BE(value.byteLength, p);
  buf.set(value, p);
}

/** Reads the frame starting at `pos`. The returned value shares memory with `buf`. */
export function readFrame(buf: Buffer, pos: number): FrameRead {
  if (buf.length - pos < FRAME_HEADER_BYTES) return { kind: 'incomplete', need: FRAME_HEADER_BYTES };
  const size = buf.readUInt32BE(pos);
  if (size < MIN_BODY_BYTES || size > MAX_RECORD_BYTES) return { kind: 'corrupt', reason: `a frame length of ${size} bytes, expected ${MIN_BODY_BYTES}..${MAX_RECORD_BYTES}` };
  const end = pos + FRAME_HEADER_BYTES + size;
  if (end > buf.length) return { kind: 'incomplete', need: FRAME_HEADER_BYTES + size };
  const body = buf.subarray(pos + FRAME_HEADER_BYTES, end);
  const expected = buf.readUInt32BE(pos + 4);
  if (crc32(body) !== expected) return { kind: 'corrupt', reason: 'a CRC32 mismatch' };
  try {
    return { kind: 'record', record: decodeBody(body), next: end };
  } catch (err) {
    return { kind: 'corrupt', reason: `an unreadable body (${(err as Error).message})` };
  }
}

function decodeBody(body: Buffer): StoredRecord {
  let p = 0;
  const version = body.readUInt8(p++);
  if (version !== FORMAT_VERSION) throw new Error(`record format version ${version}, expected ${FORMAT_VERSION}`);
  const offset = body.readUInt32BE(p) * 2 ** 32 + body.readUInt32BE(p + 4);
  const timestampMs = body.readUInt32BE(p + 8) * 2 ** 32 + body.readUInt32BE(p + 12);
  p += 16;
  const keyLength = body.readInt32BE(p);
  p += 4;
  const key = keyLength < 0 ? null : body.toString('utf8', p, (p += keyLength));
  const headerCount = body.readUInt32BE(p);
  p += 4;
  const headers: Record<string, string> = {};
  for (let i = 0; i < headerCount; i++) {
    const nl = body.readUInt32BE(p);
    const name = body.toString('utf8', p + 4, (p += 4 + nl));
    const vl = body.readUInt32BE(p);
    headers[name] = body.toString('utf8', p + 4, (p += 4 + vl));
  }
  const valueLength = body.readUInt32BE(p);
  p += 4;
  if (p + valueLength !== body.length) throw new Error(`value ends at byte ${p + valueLength} of a ${body.length}-byte body`);
  return { offset, timestampMs, key, headers, value: body.subarray(p, p + valueLength) };
}

