/**
 * One webhook attempt: POST the body to the receiver, connecting to the address that passed the
 * private-address check (the request's `lookup` returns exactly it; TLS still verifies the host
 * name). Resolves with the HTTP status; rejects on network errors and on the timeout.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkedAddress } from './address.js';

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  allowPrivate: boolean;
  timeoutMs: number;
}

export async function post(o: PostOptions): Promise<number> {
  const url = new URL(o.url);
  const pinned = await checkedAddress(url, o.allowPrivate);
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const options: RequestOptions = {
    method: 'POST',
    lookup,
    timeout: o.timeoutMs,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)), 'user-agent': 'isoscope-alerts', ...o.headers },
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Statuses worth retrying: server errors, 408, 425 and 429; other 4xx are the request's fault. */
export function retriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429 || status === 0;
}

/** The URL without query and credentials, for logs and events (a token may hide in the query). */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
