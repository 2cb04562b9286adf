/**
 * Webhook signatures: `X-Isoscope-Signature: sha256=<hex HMAC-SHA256(secret, body)>` over the exact
 * body bytes sent. Receivers recompute it with their copy of the secret and compare in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Isoscope-Signature';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** @example sign('k', '{}') === 'sha256=' + hex */
export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a received header against the body (for receivers and tests). */
export function verify(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const want = Buffer.from(sign(secret, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}
