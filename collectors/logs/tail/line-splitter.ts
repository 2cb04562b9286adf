/**
 * Bytes to lines for the tailers: `\n` ends a line, a trailing `\r` is dropped (serial consoles
 * write CRLF), bytes are decoded as UTF-8 with invalid sequences replaced by U+FFFD, and a line
 * longer than `maxLineBytes` is cut into pieces of that size so a file without newlines cannot grow
 * memory without bound. `consumed` counts the bytes turned into lines, which is what a checkpoint
 * may record: a restart from there neither repeats nor skips a line.
 */

export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes given to `push` that became lines (newlines included). */
  consumed = 0;
  /** Lines that were cut because they exceeded `maxLineBytes`. */
  cut = 0;

  /** @param maxLineBytes longest line kept whole. @default 65536 */
  constructor(private readonly maxLineBytes = 65_536) {}

  /** Adds bytes; returns the lines they complete. */
  push(chunk: Buffer): string[] {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      const end = nl === -1 ? buf.length : nl;
      if (end - start > this.maxLineBytes) {
        const cutAt = start + utf8Boundary(buf, start, this.maxLineBytes);
        lines.push(buf.toString('utf8', start, cutAt));
        this.consumed += cutAt - start;
        this.cut++;
        start = cutAt;
        continue;
      }
      if (nl === -1) break;
      lines.push(decodeLine(buf, start, nl));
      this.consumed += nl + 1 - start;
      start = nl + 1;
    }
    this.pending = start < buf.length ? Buffer.from(buf.subarray(start)) : Buffer.alloc(0);
    return lines;
  }

  /** Bytes held that do not end in a newline yet. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Returns the held partial line as a line (its file ended for good), or null if there is none. */
  flush(): string | null {
    if (this.pending.length === 0) return null;
    const line = decodeLine(this.pending, 0, this.pending.length);
    this.consumed += this.pending.length;
    this.pending = Buffer.alloc(0);
    return line;
  }

  /** Forgets the held partial line and restarts counting at `consumed` (after a truncation). */
  reset(consumed = 0): void {
    this.pending = Buffer.alloc(0);
    this.consumed = consumed;
  }
}

function decodeLine(buf: Buffer, start: number, end: number): string {
  const e = end > start && buf[end - 1] === 13 ? end - 1 : end;
  return buf.toString('utf8', start, e);
}

/** Largest length ≤ max that does not split a UTF-8 sequence (at least 1). */
function utf8Boundary(buf: Buffer, start: number, max: number): number {
  let n = max;
  while (n > max - 4 && n > 1 && (buf[start + n]! & 0xc0) === 0x80) n--;
  return n;
}
