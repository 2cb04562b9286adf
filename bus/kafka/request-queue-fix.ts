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
 *
 * The same holds for the request timeouts (`fixKafkajsTimeoutCheck`): every connection looks for
 * requests past their timeout on a 100 ms interval from connect to close, whether a request is in
 * flight or not. A collector sending once a second woke 10 times a second for it, more wake-ups
 * than everything else it does (strace: 25 epoll waits a second against 2 without Kafka;
 * docs/DECISIONS.md). Patched, the interval runs only while requests are in flight: it starts
 * when one is sent and stops once none is left, checking as often as before.
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
const TIMEOUT_FIXED = Symbol.for('isoscope.kafkajs.requestTimeoutCheckFixed');
/** Set while the connection wants its in-flight requests timed (between connect and close). */
const WANTED = Symbol('isoscope.kafkajs.timeoutCheckWanted');

interface TimedQueueLike {
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId: ReturnType<typeof setInterval> | null | undefined;
  inflight: Map<number, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  isConnected(): boolean;
  destroy(): void;
  scheduleRequestTimeoutCheck(): void;
  sendSocketRequest(request: unknown): void;
  [WANTED]?: boolean;
}

/**
 * Patches kafkajs' RequestQueue so a connection times its requests only while some are in flight
 * (idempotent); false when this kafkajs has no such methods.
 */
export function fixKafkajsTimeoutCheck(): boolean {
  const require = createRequire(import.meta.url);
  let RequestQueue: { prototype: TimedQueueLike & { [TIMEOUT_FIXED]?: true } };
  try {
    RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
  } catch {
    return false;
  }
  const proto = RequestQueue.prototype;
  if (proto[TIMEOUT_FIXED]) return true;
  if (typeof proto.scheduleRequestTimeoutCheck !== 'function' || typeof proto.sendSocketRequest !== 'function' || typeof proto.destroy !== 'function') return false;
  const { destroy, sendSocketRequest } = proto;
  proto.destroy = function (this: TimedQueueLike) {
    destroy.call(this);
    this.requestTimeoutIntervalId = null;
    this[WANTED] = false;
  };
  proto.scheduleRequestTimeoutCheck = function (this: TimedQueueLike) {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this[WANTED] = true;
    startTimeoutCheck(this);
  };
  proto.sendSocketRequest = function (this: TimedQueueLike, request: unknown) {
    sendSocketRequest.call(this, request);
    startTimeoutCheck(this);
  };
  proto[TIMEOUT_FIXED] = true;
  return true;
}

/** kafkajs' own check (the same interval and body), started when a request is in flight and stopped when none is. */
function startTimeoutCheck(q: TimedQueueLike): void {
  if (!q[WANTED] || q.requestTimeoutIntervalId || q.inflight.size === 0) return;
  q.requestTimeoutIntervalId = setInterval(() => {
    q.inflight.forEach((request) => {
      if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
    });
    if (!q.isConnected()) q.destroy();
    else if (q.inflight.size === 0) {
      clearInterval(q.requestTimeoutIntervalId!);
      q.requestTimeoutIntervalId = null;
    }
  }, Math.min(q.requestTimeout, 100));
}

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
