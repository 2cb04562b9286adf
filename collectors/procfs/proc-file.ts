/**
 * A kernel file (/proc, /sys) kept open and re-read whole with pread(2) from offset 0 into a reused
 * buffer: one syscall per reading instead of open+fstat+read+close and a fresh string. The kernel
 * generates these files anew on every read at offset 0 (seq_file, kernfs), so a reading is as
 * fresh as a new open. A read shorter than the room left means the end of the file (seq_file fills
 * the buffer until the end, kernfs attributes are one page at most); a full buffer is doubled and
 * the file read again from the start, so a reading is always one pass.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export class ProcFile {
  private fdNumber: number | null = null;
  /** The last reading is `buf[0, length)`. */
  buf: Buffer;
  length = 0;

  constructor(readonly path: string, initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /**
   * Reads the file anew into `buf` (which it may replace with a larger one) and returns it; the
   * reading is `buf[0, length)`. @throws the open or read error (ENOENT …).
   */
  read(): Buffer {
    const fd = this.fd;
    for (;;) {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      if (n < this.buf.length) {
        this.length = n;
        return this.buf;
      }
      this.buf = Buffer.allocUnsafe(this.buf.length * 2);
    }
  }

  /** The open file descriptor (opening the file if needed), for the native sampler to pread. */
  get fd(): number {
    this.fdNumber ??= openSync(this.path, 'r');
    return this.fdNumber;
  }

  /** The last reading as text (for slow paths and errors). */
  text(): string {
    return this.buf.toString('utf8', 0, this.length);
  }

  close(): void {
    if (this.fdNumber !== null) closeSync(this.fdNumber);
    this.fdNumber = null;
  }
}
