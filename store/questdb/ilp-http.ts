/**
 * ILP over HTTP: POST /write with a body of ILP lines, one transaction per request, answered 204
 * once QuestDB has committed the rows to its WAL (the acknowledgement ingest commits offsets on).
 * Requests carry at most `rowsPerRequest` rows (a 50 MB request once outlived its timeout and was
 * resent forever) and at most `inFlight` of them are open at once, on kept-alive connections, so
 * encoding the next request overlaps QuestDB committing the previous ones.
 */
import http from 'node:http';
import { PermanentError } from '../../core/errors.js';
import { sliceBatch, type ColumnBatch } from '../../schema/column-batch.js';
import type { RecordName } from '../../schema/records.js';
import { IlpBuffer } from './ilp-text.js';

export interface IlpHttpOptions {
  /** host:port of QuestDB's HTTP endpoint. */
  http: string;
  /** @default 20000 */
  rowsPerRequest?: number;
  /** Requests open at once. @default 2 */
  inFlight?: number;
  /** One request's deadline, ms. @default 30000 */
  requestTimeoutMs?: number;
}

/** Counting semaphore: what bounds requests (and the buffers they are encoded into). */
class Slots<T> {
  private readonly waiting: ((item: T) => void)[] = [];
  constructor(private readonly free: T[]) {}
  acquire(): Promise<T> {
    const item = this.free.pop();
    return item !== undefined ? Promise.resolve(item) : new Promise((resolve) => this.waiting.push(resolve));
  }
  release(item: T): void {
    const next = this.waiting.shift();
    if (next) next(item);
    else this.free.push(item);
  }
}

export class IlpHttpWriter {
  readonly rowsPerRequest: number;
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  /** One buffer per open request plus one being encoded. */
  private readonly buffers: Slots<IlpBuffer>;
  private readonly requests: Slots<number>;

  constructor(options: IlpHttpOptions) {
    const i = options.http.lastIndexOf(':');
    this.host = options.http.slice(0, i);
    this.port = Number(options.http.slice(i + 1));
    this.rowsPerRequest = options.rowsPerRequest ?? 20_000;
    const inFlight = Math.max(1, options.inFlight ?? 2);
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
    this.buffers = new Slots(Array.from({ length: inFlight + 1 }, () => new IlpBuffer()));
    this.requests = new Slots(Array.from({ length: inFlight }, (_, k) => k));
  }

  /**
   * Writes the records in requests of at most rowsPerRequest rows; resolves when QuestDB
   * acknowledged all of them, rejects (after every started request settled) if any failed: a
   * PermanentError when QuestDB refused the rows themselves (4xx), else a retriable error. A retry
   * rewrites every request; DEDUP absorbs the ones that had landed. `table` (escaped) defaults to
   * the record type's table. Records may be held by column (a ColumnBatch): the lines are the same.
   */
  async write(name: RecordName, records: readonly Record<string, unknown>[] | ColumnBatch, table?: string): Promise<void> {
    const sent: Promise<void>[] = [];
    let failed = false;
    const total = Array.isArray(records) ? records.length : (records as ColumnBatch).n;
    for (let from = 0; from < total && !failed; from += this.rowsPerRequest) {
      const to = Math.min(total, from + this.rowsPerRequest);
      const buf = await this.buffers.acquire();
      buf.reset();
      if (Array.isArray(records)) buf.append(name, records, from, to, table);
      else buf.appendColumns(name, sliceBatch(records as ColumnBatch, from, to), table);
      const slot = await this.requests.acquire();
      if (failed) {
        this.requests.release(slot);
        this.buffers.release(buf);
        break;
      }
      const request = this.post(buf.bytes(), `${to - from} ${name} rows`).finally(() => {
        this.requests.release(slot);
        this.buffers.release(buf);
      });
      // Handled at once: a request that fails while the loop awaits a slot (QuestDB went away) must
      // not be an unhandled rejection, which ends the process. Its error is thrown below, after every
      // started request settled; no further request is started once one failed.
      request.catch(() => { failed = true; });
      sent.push(request);
    }
    const results = await Promise.allSettled(sent);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
  }

  /** Sends one body; the buffer behind it stays untouched until this settles. */
  post(body: Buffer, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.host, port: this.port, method: 'POST', path: '/write', agent: this.agent,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 2000);
          const message = `QuestDB answered ${status} to ${what} at http://${this.host}:${this.port}/write: ${text}`;
          // 4xx: QuestDB refused the rows themselves (e.g. a type clash); retrying cannot help.
          reject(status >= 400 && status < 500 && status !== 408 && status !== 429 ? new PermanentError(message) : new Error(message));
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`QuestDB did not answer ${what} within ${this.timeoutMs} ms (http://${this.host}:${this.port}/write)`)));
      req.on('error', (err) => reject(new Error(`sending ${what} to QuestDB at http://${this.host}:${this.port}/write failed: ${err.message}`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
