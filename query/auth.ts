/**
 * Access rule of the query service: reading is open to loopback clients; everything else, and any
 * mutating request, needs `Authorization: Bearer <query.token>`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

export function tokenMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** @param readOnly true for routes that change nothing (POST /api/sql is read-only by construction). */
export function requireAccess(token: string | undefined, readOnly: boolean): MiddlewareHandler {
  return async (c, next) => {
    const remote = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;
    // app.request() in tests has no socket: treat it as loopback, like a local caller.
    const local = remote === undefined || isLoopback(remote);
    if ((readOnly && local) || tokenMatches(c.req.header('authorization'), token)) return next();
    return c.json({ error: token ? 'a valid bearer token is required (Authorization: Bearer <query.token>)' : 'this endpoint needs query.token to be configured and sent as a bearer token' }, 401);
  };
}
