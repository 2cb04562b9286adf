/**
 * kafkajs 2.2.4 keeps every idle broker connection busy: after each check of its pending requests,
 * `RequestQueue.scheduleCheckPendingRequests` sets a timer even when nothing is pending, with a
 * negative delay (throttledUntil is -1), so the check runs again after 1 ms, forever (kafkajs
 * issue 1556, fix proposed in its pull request 1667, unreleased; kafkajs has had no release since).
 * An ingest instance holds several connections (its consumer and group coordinator, the control
 * feed's, the admin client's, the dead-letter producer's): measured 0.03–0.04 CPU-s per second
 * while idle, which is what made two instances cost more per row than one (docs/DECISIONS.md).
 *
 * This replaces the method with the same logic that only schedules when a request is pending: a
 * request that cannot go at once is pushed and scheduled (`push`), and every answer or timeout
 * checks the queue again (`fulfillRequest`, the request's timeout), so an empty queue needs no
 * timer. Applied once, when the Kafka bus module loads; kafkajs versions without the method are
 * left alone.
 */
import { createRequire } from 'node:module';

/** kafkajs' own interval for a queue that is full (too many requests in flight) but not throttled. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const FIXED = Symbol.for('isoscope.kafkajs.requestQueueFixed');

/** Patches kafkajs' RequestQueue (idempotent); false when this kafkajs has no such method. */
export function fixKafkajsIdleLoop(): boolean {
  const require = createRequire(import.meta.url);
  let RequestQueue: { prototype: RequestQueueLike & { [FIXED]?: true } };
  try {
    RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
  } catch {
    return false;
  }
  const proto = RequestQueue.prototype;
  if (proto[FIXED]) return true;
  if (typeof proto.scheduleCheckPendingRequests !== 'function' || typeof proto.checkPendingRequests !== 'function') return false;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL);
  };
  proto[FIXED] = true;
  return true;
}
