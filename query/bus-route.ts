/**
 * `POST /api/bus/:topic`: the HTTP entry to the bus for collectors that cannot reach Kafka
 * (`isoscope collector --sink http`). The body is one encoded batch (schema/codec.ts); it is
 * validated at this boundary, appended durably to the bus, and only then acknowledged (202).
 * Mutating, so a bearer token is always required.
 */
import { Hono } from 'hono';
import type { BusProducer } from '../bus/bus.js';
import { decode } from '../schema/codec.js';
import { isRecordName } from '../schema/records.js';
import { requireAccess } from './auth.js';

const MAX_BODY = 8 * 1024 * 1024;

export function busRoutes(producer: BusProducer, token: string | undefined) {
  return new Hono().post('/api/bus/:topic', requireAccess(token, false), async (c) => {
    const topic = c.req.param('topic');
    if (!isRecordName(topic)) return c.json({ error: `unknown topic "${topic}": expected samples, events, partitions, runs or alerts` }, 404);
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > MAX_BODY) return c.json({ error: `batch of ${body.length} bytes is over the limit of ${MAX_BODY}; send smaller batches` }, 413);
    const { records, errors } = decode(body, topic);
    if (errors.length > 0) return c.json({ error: `the batch was refused: ${errors.map((e) => e.reason).join('; ').slice(0, 2000)}` }, 400);
    const key = c.req.header('x-isoscope-key');
    await producer.send(topic, [{ key: key ? decodeURIComponent(key) : null, value: body }]);
    return c.json({ accepted: records.length }, 202);
  });
}
