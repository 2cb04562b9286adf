/**
 * HTTP plumbing shared by the routes: errors as JSON `{"error": "…"}` with a status, and query
 * parameters validated by zod with messages naming the parameter (repeated parameters and
 * comma-separated lists both give arrays where the schema wants one).
 */
import type { Context } from 'hono';
import { z } from 'zod';

export class HttpError extends Error {
  constructor(readonly status: 400 | 401 | 404 | 408 | 409 | 413 | 422 | 500 | 503, message: string) {
    super(message);
  }
}

export function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/** The query string as `schema` wants it: arrays for array fields (a,b or ?x=a&x=b), strings otherwise. */
export function queryParams<S extends z.ZodObject>(c: Context, schema: S): z.output<S> {
  const all = c.req.queries();
  const input: Record<string, unknown> = {};
  for (const [k, vs] of Object.entries(all)) {
    const field = schema.shape[k] as z.ZodType | undefined;
    const wantsArray = field !== undefined && isArray(field);
    input[k] = wantsArray ? vs.flatMap((v) => v.split(',')).filter((v) => v !== '') : vs[vs.length - 1];
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, `bad query parameters: ${issuesText(parsed.error)}`);
  return parsed.data;
}

function isArray(t: z.ZodType): boolean {
  const def = (t as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
  if (def.type === 'array') return true;
  if (def.innerType) return isArray(def.innerType);
  if (def.in) return isArray(def.in);
  return false;
}

/** Store errors that are the caller's fault (bad SQL, timeouts) vs ours. */
export function storeError(err: unknown, timeoutMs?: number): HttpError {
  if (err instanceof HttpError) return err;
  const message = (err as Error).message ?? String(err);
  if (/Query read timeout|ran longer than its timeout/i.test(message)) {
    return new HttpError(408, timeoutMs ? `the query was cancelled because it ran longer than its timeout of ${timeoutMs} ms` : message);
  }
  return unavailable(err) ?? new HttpError(400, message);
}

/** A 503 when the store is down or not started, else null. */
export function unavailable(err: unknown): HttpError | null {
  const message = (err as Error).message ?? String(err);
  if (!/ECONNREFUSED|ECONNRESET|Connection terminated|connect ETIMEDOUT|timeout exceeded when trying to connect|is not started|shut down/i.test(message)) return null;
  return new HttpError(503, `the store cannot answer now: ${message}`);
}

export const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
export const intParam = (min: number, max: number) => z.string().regex(/^-?\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
