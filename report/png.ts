/**
 * Decodes a PNG far enough to prove it is whole: signature, IHDR size, every chunk's CRC, and the
 * inflated IDAT stream holding exactly height × (1 + width × bytes per pixel) bytes. For tests
 * and for `isoscope report`'s own check of what it wrote.
 */
import { crc32, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function decodePng(png: Buffer): { width: number; height: number; bitDepth: number; colorType: number } {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG: wrong signature');
  let off = 8;
  let header: { width: number; height: number; bitDepth: number; colorType: number } | null = null;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString('latin1');
    const data = png.subarray(off + 8, off + 8 + len);
    const crc = png.readUInt32BE(off + 8 + len);
    if (crc32(png.subarray(off + 4, off + 8 + len)) !== crc) throw new Error(`PNG chunk ${type} at ${off} has a bad CRC`);
    if (type === 'IHDR') header = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), bitDepth: data[8]!, colorType: data[9]! };
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
    if (type === 'IEND') break;
  }
  if (!header) throw new Error('PNG without IHDR');
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = Math.ceil((CHANNELS[header.colorType]! * header.bitDepth) / 8);
  const rowBytes = 1 + Math.ceil((header.width * CHANNELS[header.colorType]! * header.bitDepth) / 8);
  if (raw.length !== header.height * rowBytes) throw new Error(`PNG pixel data is ${raw.length} bytes, expected ${header.height} rows of ${rowBytes} (${bpp} bytes per pixel)`);
  return header;
}
