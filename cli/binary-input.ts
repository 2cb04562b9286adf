/**
 * Refuses binary input to `isoscope parse`: a log is text, and an executable, an image or a compressed
 * capture would otherwise come out as a stream of `unparsed` events of escaped bytes.
 */
import { UserError } from '../core/errors.js';

/** Control bytes that do not occur in text logs (tab, newlines, form feed, backspace and ESC do). */
const isControl = (b: number) => b < 0x20 ? ![0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x08, 0x1b].includes(b) : b === 0x7f;

/**
 * Throws when the first bytes of `name` look binary: gzip/xz/zstd/bzip2 magic, or more than 1 in 10
 * control bytes (serial consoles do print a stray NUL now and then, so one is not enough).
 * @example assertText(readFileSync('/bin/ls').subarray(0, 4096), '/bin/ls') // throws
 */
export function assertText(head: Buffer, name: string): void {
  const compressed = compression(head);
  if (compressed) throw new UserError(`${name} is ${compressed}-compressed, not a text log; decompress it first, e.g. ${compressed === 'gzip' ? 'zcat' : `${compressed === 'bzip2' ? 'bz' : compressed}cat`} ${name} | isoscope parse -`);
  const sample = head.subarray(0, 8192);
  let controls = 0;
  let first = -1;
  for (let i = 0; i < sample.length; i++) {
    if (!isControl(sample[i]!)) continue;
    controls++;
    if (first < 0) first = i;
  }
  if (sample.length > 0 && controls * 10 > sample.length) {
    throw new UserError(
      `${name} looks binary, not a text log: ${controls} of its first ${sample.length} bytes are control characters (the first at byte ${first}); expected a console or kernel log in text`,
    );
  }
}

function compression(head: Buffer): string | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return null;
}
