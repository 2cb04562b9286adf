/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's record batches.
 * Node has no built-in one; a byte-wise table (crc32.ts' reflectedCrc) is enough for what it covers
 * here (a collector's compressed second of batches, a few KiB).
 */
import { reflectedCrc } from './crc32.js';

const castagnoli = reflectedCrc(0x82f63b78);

/** CRC-32C of `data`. @example crc32c(Buffer.from('123456789')) // 0xe3069283 */
export function crc32c(data: Uint8Array): number {
  return castagnoli(data);
}
