/**
 * Splits a byte stream into complete lines for `ExecOptions.onLine`, keeping the full text for the
 * `ExecResult`. A trailing partial line is delivered by `flush()` when the stream ends.
 */
import { StringDecoder } from 'node:string_decoder';

export class LineCollector {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private readonly chunks: string[] = [];

  constructor(private readonly onLine: ((line: string) => void) | undefined) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.chunks.push(text);
    if (!this.onLine) return;
    this.pending += text;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.onLine(this.pending.slice(0, nl).replace(/\r$/, ''));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  /** Ends the stream: delivers the last partial line and returns everything received. */
  flush(): string {
    const rest = this.decoder.end();
    if (rest) this.push(rest);
    if (this.onLine && this.pending) this.onLine(this.pending);
    this.pending = '';
    return this.chunks.join('');
  }
}
