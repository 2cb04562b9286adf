/**
 * What an alert transition becomes: an `alerts` record for the store, one outbox entry per receiver
 * of the rule, and, when a delivery fails for good, an `events` record of kind
 * `alert_delivery_failed`.
 */
import { createHash } from 'node:crypto';
import type { RecordInput } from '../schema/records.js';
import type { OutboxEntry } from './delivery/outbox.js';
import { webhookBody, seriesUrl } from './delivery/payload.js';
import { safeUrl } from './delivery/post.js';
import type { Transition } from './engine.js';
import type { Receiver } from './rules/load.js';

export function alertRecord(t: Transition, baseUrl: string): RecordInput<'alerts'> {
  return {
    ts: t.ts,
    alert: t.alert,
    rule: t.rule.name,
    state: t.state,
    severity: t.rule.severity,
    node: t.node,
    partition: t.partition,
    run: t.run,
    metric: t.rule.metric,
    value: t.value,
    message: t.message,
    labels: { ...t.rule.labels, ...t.series, startsAt: t.startsAt.toString(), seriesUrl: seriesUrl(baseUrl, t) },
  };
}

/** The idempotency key of one delivery: the same for every attempt, restart and replay. */
export function deliveryId(alert: string, state: string, receiver: string): string {
  return createHash('sha256').update(`${alert}\u0000${state}\u0000${receiver}`).digest('hex').slice(0, 32);
}

export function outboxEntries(t: Transition, receivers: ReadonlyMap<string, Receiver>, baseUrl: string, nowMs = Date.now()): OutboxEntry[] {
  return t.rule.receivers.map((name) => ({
    id: deliveryId(t.alert, t.state, name),
    receiver: name,
    url: receivers.get(name)!.url,
    body: JSON.stringify(webhookBody(t, name, baseUrl)),
    alert: t.alert,
    state: t.state,
    run: t.run,
    attempts: 0,
    nextAttemptAtMs: nowMs,
    createdAtMs: nowMs,
    lastError: null,
  }));
}

/** The `events` record of a delivery that failed for good (seq and idx are the caller's). */
export function deliveryFailedEvent(e: OutboxEntry, reason: string, node: string, seq: number): RecordInput<'events'> {
  return {
    ts: BigInt(Date.now()) * 1_000_000n,
    node,
    collector: `${node}/alerts`,
    seq,
    idx: 0,
    source: 'alerts',
    level: 'error',
    kind: 'alert_delivery_failed',
    run: e.run,
    message: `Alert ${e.alert} (${e.state}) could not be delivered to receiver ${e.receiver} after ${e.attempts} attempts: ${reason}`,
    fields: { alert: e.alert, state: e.state, receiver: e.receiver, url: safeUrl(e.url), attempts: e.attempts, reason, idempotencyKey: e.id },
  };
}
