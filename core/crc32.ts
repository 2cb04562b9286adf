/**
 * CRC-32 (IEEE 802.3, the zlib one) for the embedded bus's segments and the collector spool's frames:
 * node:zlib's own where this Node has it (20.15+), else a table in JavaScript. `initial` continues a
 * CRC over data given in pieces (crc32(b, crc32(a)) === crc32(a + b)).
 */
import * as zlib from 'node:zlib';

const native = (zlib as unknown as { crc32?: (data: Uint8Array, initial?: number) => number }).crc32;

/** Table-driven CRC-32 (reflected polynomial 0xEDB88320). Exported so tests check it agrees with zlib's. */
export const tableCrc32 = reflectedCrc(0xedb88320);

/** CRC-32 of `data`, continuing from `initial` (0 for a fresh one). */
export const crc32: (data: Uint8Array, initial?: number) => number =
  typeof native === 'function' ? (data, initial = 0) => native(data, initial) : tableCrc32;

/**
 * A byte-wise table-driven CRC for a reflected 32-bit polynomial (CRC-32's 0xEDB88320, CRC-32C's
 * 0x82F63B78), the table built on first use; `initial` continues a CRC over data given in pieces.
 */
export function reflectedCrc(poly: number): (data: Uint8Array, initial?: number) => number {
  let table: Uint32Array | null = null;
  return (data, initial = 0) => {
    if (!table) {
      table = new Uint32Array(256);
      for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
        table[n] = c >>> 0;
      }
    }
    const t = table;
    let crc = ~initial >>> 0;
    for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    return ~crc >>> 0;
  };
}
