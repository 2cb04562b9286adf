/**
 * CRC-32 (IEEE 802.3, the zlib one) for the embedded bus's segments and the collector spool's frames:
 * node:zlib's own where this Node has it (20.15+), else a table in JavaScript. `initial` continues a
 * CRC over data given in pieces (crc32(b, crc32(a)) === crc32(a + b)).
 */
import * as zlib from 'node:zlib';

const native = (zlib as unknown as { crc32?: (data: Uint8Array, initial?: number) => number }).crc32;

/** CRC-32 of `data`, continuing from `initial` (0 for a fresh one). */
export const crc32: (data: Uint8Array, initial?: number) => number =
  typeof native === 'function' ? (data, initial = 0) => native(data, initial) : tableCrc32;

let table: Uint32Array | null = null;

/** Table-driven CRC-32 (reflected polynomial 0xEDB88320). Exported so tests check it agrees with zlib's. */
export function tableCrc32(data: Uint8Array, initial = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~initial >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
