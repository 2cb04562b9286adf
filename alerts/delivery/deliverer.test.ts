/**
 * Webhook delivery against real local HTTP receivers: retries with one idempotency key, signatures,
 * the private-address refusal, failures recorded after the last attempt, and a restart that
 * resumes the outbox.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../test/services.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { RuleEngine } from '../engine.js';
import { outboxEntries } from '../records.js';
import type { Receiver } from '../rules/load.js';
import { ruleSchema } from '../rules/schema.js';
import { isPrivateAddress } from './address.js';
import { Deliverer } from './deliverer.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import type { WebhookBody } from './payload.js';
import { verify } from './sign.js';
import { startReceiver, type TestReceiver } from './testing.js';

const tempDir = tempDirs('isoscope-alerts-delivery-');
const SECRET = 'test-secret-0123456789';
const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => { await Promise.all(open.splice(0).map((x) => x.close())); });

function receiver(r: TestReceiver, extra: Partial<Receiver> = {}): Receiver {
  return { name: 'lab', url: r.url, secret: SECRET, allowPrivate: true, maxAttempts: 5, initialBackoff: 20, maxBackoff: 100, timeout: 2000, ...extra };
}

/** One firing transition of a real rule, as outbox entries for the receivers. */
function entries(receivers: Map<string, Receiver>): OutboxEntry[] {
  const rule = ruleSchema.parse({ name: 'starved', metric: 'task-clock', detector: { kind: 'threshold', op: '<', value: 5 }, receivers: [...receivers.keys()] });
  const [t] = new RuleEngine([rule]).observe([{ ts: 1_700_000_000_000_000_000n, node: 'n1', metric: 'task-clock', value: 1, cpu: -1, source: 'perf', collector: 'n1/c', run: 'run-1', comm: 'sh/42' }]);
  return outboxEntries(t!, receivers, 'http://hub:7410');
}

async function deliverer(dir: string, receivers: Map<string, Receiver>, failures: { e: OutboxEntry; reason: string }[] = []) {
  const d = new Deliverer({ outbox: new Outbox(dir), receivers, onFailed: async (e, reason) => { failures.push({ e, reason }); } });
  await d.start();
  open.push({ close: () => d.shutdown(1000) });
  return d;
}

describe('webhook delivery', () => {
  it('a receiver failing twice then succeeding gets exactly one delivery, one idempotency key, valid signatures', async () => {
    const r = await startReceiver([503, 500, 200]);
    open.push(r);
    const receivers = new Map([['lab', receiver(r)]]);
    const d = await deliverer(tempDir(), receivers);
    d.enqueue(entries(receivers));
    await pollUntil(async () => d.stats.delivered, (n) => n === 1, 10_000, 20);
    expect(r.received.map((x) => x.status)).toEqual([503, 500, 200]);
    const keys = new Set(r.received.map((x) => x.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f]{32}$/);
    expect(r.received.map((x) => x.headers['x-isoscope-delivery-attempt'])).toEqual(['1', '2', '3']);
    for (const x of r.received) {
      expect(verify(SECRET, x.body, x.headers['x-isoscope-signature'] as string)).toBe(true);
      expect(verify('another-secret-0000000', x.body, x.headers['x-isoscope-signature'] as string)).toBe(false);
    }
    const body = JSON.parse(r.received[2]!.body) as WebhookBody;
    expect(body).toMatchObject({ version: '4', status: 'firing', receiver: 'lab', groupKey: '{}:{alertname="starved"}', run: 'run-1', node: 'n1' });
    expect(body.alerts[0]).toMatchObject({ status: 'firing', labels: { alertname: 'starved', severity: 'warning', comm: 'sh/42', run: 'run-1' }, endsAt: '0001-01-01T00:00:00Z', startsAt: '2023-11-14T22:13:20.000000000Z' });
    expect(body.seriesUrl).toBe('http://hub:7410/api/series?run=run-1&metric=task-clock&node=n1&cpu=-1');
    expect(body.alerts[0]!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    await pollUntil(async () => d.pending, (n) => n === 0, 2000, 20);
    expect(d.stats).toMatchObject({ attempts: 3, delivered: 1, failed: 0, retries: 2 });
  });

  it('refuses a loopback receiver unless allowPrivate, and records the failure', async () => {
    const r = await startReceiver();
    open.push(r);
    const receivers = new Map([['lab', receiver(r, { allowPrivate: false })]]);
    const dir = tempDir();
    const failures: { e: OutboxEntry; reason: string }[] = [];
    const d = await deliverer(dir, receivers, failures);
    d.enqueue(entries(receivers));
    await pollUntil(async () => failures.length, (n) => n === 1, 5000, 20);
    expect(r.received).toEqual([]);
    expect(failures[0]!.reason).toMatch(/resolves to 127\.0\.0\.1, a private\/loopback address; set allowPrivate: true/);
    expect(failures[0]!.e.attempts).toBe(1); // permanent: not retried
    expect(readdirSync(join(dir, 'failed'))).toHaveLength(1);
    expect(readdirSync(join(dir, 'pending'))).toEqual([]);
    expect([['10.1.2.3', true], ['172.20.0.1', true], ['192.168.1.1', true], ['169.254.1.1', true], ['::1', true], ['fd00::1', true], ['fe80::1', true], ['::ffff:127.0.0.1', true], ['8.8.8.8', false], ['2606:4700::1111', false], ['172.32.0.1', false]].every(([a, p]) => isPrivateAddress(a as string) === p)).toBe(true);
  });

  it('records a failure after the last attempt and keeps the body', async () => {
    const r = await startReceiver([500]);
    open.push(r);
    const receivers = new Map([['lab', receiver(r, { maxAttempts: 3 })]]);
    const dir = tempDir();
    const failures: { e: OutboxEntry; reason: string }[] = [];
    const d = await deliverer(dir, receivers, failures);
    const [entry] = entries(receivers);
    d.enqueue([entry!]);
    await pollUntil(async () => failures.length, (n) => n === 1, 10_000, 20);
    expect(r.received).toHaveLength(3);
    expect(failures[0]!).toMatchObject({ reason: 'HTTP 500', e: { attempts: 3, id: entry!.id } });
    expect(existsSync(join(dir, 'failed', `${entry!.id}.json`))).toBe(true);
    // A 4xx other than 408/425/429 is the request's fault: failed at once.
    const r4 = await startReceiver([400]);
    open.push(r4);
    const f4: { e: OutboxEntry; reason: string }[] = [];
    const r4s = new Map([['lab', receiver(r4)]]);
    (await deliverer(tempDir(), r4s, f4)).enqueue(entries(r4s));
    await pollUntil(async () => f4.length, (n) => n === 1, 5000, 20);
    expect(r4.received).toHaveLength(1);
  });

  it('a restart resumes the pending outbox with the same idempotency key', async () => {
    const down = await startReceiver([503]);
    open.push(down);
    const dir = tempDir();
    const first = new Map([['lab', receiver(down, { initialBackoff: 60_000, maxBackoff: 60_000 })]]);
    const d1 = new Deliverer({ outbox: new Outbox(dir), receivers: first, onFailed: async () => { throw new Error('must not fail'); } });
    await d1.start();
    const [entry] = entries(first);
    d1.enqueue([entry!]);
    await pollUntil(async () => down.received.length, (n) => n === 1, 5000, 20);
    await pollUntil(async () => d1.stats.retries, (n) => n === 1, 5000, 20);
    await d1.shutdown(1000); // the process "dies" with the retry pending on disk
    expect(readdirSync(join(dir, 'pending'))).toEqual([`${entry!.id}.json`]);
    const up = await startReceiver([200]);
    open.push(up);
    // The new process's receiver points elsewhere (the URL is looked up by name at delivery time).
    const d2 = await deliverer(dir, new Map([['lab', receiver(up)]]));
    // Its next attempt is due in up to a minute: a restart does not skip the backoff, so make it due now.
    const pending = new Outbox(dir).list();
    expect(pending).toHaveLength(1);
    expect(pending[0]!.attempts).toBe(1);
    await d2.shutdown(1000);
    new Outbox(dir).put({ ...pending[0]!, nextAttemptAtMs: Date.now() });
    const d3 = await deliverer(dir, new Map([['lab', receiver(up)]]));
    await pollUntil(async () => d3.stats.delivered, (n) => n === 1, 5000, 20);
    expect(up.received).toHaveLength(1);
    expect(up.received[0]!.headers['idempotency-key']).toBe(down.received[0]!.headers['idempotency-key']);
    expect(up.received[0]!.headers['x-isoscope-delivery-attempt']).toBe('2');
    expect(readdirSync(join(dir, 'pending'))).toEqual([]);
  });
});
