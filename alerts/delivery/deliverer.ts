/**
 * Webhook delivery from the outbox: each pending entry is POSTed, signed, with its idempotency key;
 * a retriable failure (network error, timeout, 5xx, 408/425/429) is retried after a full-jitter
 * exponential backoff (core/backoff.ts), with the attempt count and next attempt time rewritten to
 * disk first, so a restart resumes where it stopped. After the receiver's last attempt, or at once
 * on a permanent failure (other 4xx, a refused private address, a receiver no longer configured),
 * the failure is recorded through `onFailed` (an `alert_delivery_failed` event and a log line) before
 * the entry moves to failed/: nothing is dropped silently.
 */
import { backoffDelay } from '../../core/backoff.js';
import { componentLogger } from '../../core/logger.js';
import type { Lifecycle } from '../../schema/lifecycle.js';
import type { Receiver } from '../rules/load.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { post, retriableStatus, safeUrl } from './post.js';
import { IDEMPOTENCY_HEADER, sign, SIGNATURE_HEADER } from './sign.js';

export interface DelivererOptions {
  outbox: Outbox;
  receivers: ReadonlyMap<string, Receiver>;
  /** Records a delivery that failed for good; a rejection retries the recording later. */
  onFailed: (entry: OutboxEntry, reason: string) => Promise<void>;
}

export interface DeliveryStats {
  attempts: number;
  delivered: number;
  failed: number;
  retries: number;
}

/** How long a failure that could not be recorded waits before the next try, ms. */
const RECORD_RETRY_MS = 1000;

export class Deliverer implements Lifecycle {
  readonly stats: DeliveryStats = { attempts: 0, delivered: 0, failed: 0, retries: 0 };
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly known = new Set<string>();
  private stopped = false;
  private readonly log = componentLogger('alerts');

  constructor(private readonly o: DelivererOptions) {}

  /** Resumes every delivery pending in the outbox. */
  async start(): Promise<void> {
    const pending = this.o.outbox.list((file, reason) => this.log.error({ file, reason }, `Outbox file ${file} is unreadable and was moved to failed/: ${reason}`));
    if (pending.length > 0) this.log.info({ pending: pending.length }, `Resuming ${pending.length} pending webhook deliveries from the outbox.`);
    for (const e of pending) this.schedule(e);
  }

  /** Accepts deliveries: durable on disk when this returns, then attempted. An id already pending is not added twice. */
  enqueue(entries: readonly OutboxEntry[]): void {
    for (const e of entries) {
      if (this.known.has(e.id) || this.o.outbox.has(e.id)) continue;
      this.o.outbox.put(e);
      this.schedule(e);
    }
  }

  /** Deliveries not yet done (pending or in flight). */
  get pending(): number {
    return this.known.size;
  }

  private schedule(e: OutboxEntry): void {
    if (this.stopped) return;
    this.known.add(e.id);
    const timer = setTimeout(() => {
      this.timers.delete(e.id);
      const p = this.attempt(e).catch((err: unknown) => {
        this.log.error({ err, delivery: e.id }, `Delivery ${e.id} hit an unexpected error; it stays in the outbox and is retried.`);
        this.known.delete(e.id);
        this.schedule({ ...e, nextAttemptAtMs: Date.now() + RECORD_RETRY_MS });
      });
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }, Math.max(0, e.nextAttemptAtMs - Date.now()));
    this.timers.set(e.id, timer);
  }

  private async attempt(e: OutboxEntry): Promise<void> {
    const receiver = this.o.receivers.get(e.receiver);
    if (!receiver) return this.fail(e, `receiver "${e.receiver}" is no longer in the rules file`);
    if (e.attempts >= receiver.maxAttempts) return this.fail(e, e.lastError ?? 'no attempts left');
    this.stats.attempts++;
    e.attempts++;
    let retriable = true;
    try {
      const status = await post({
        url: receiver.url,
        body: e.body,
        headers: { [SIGNATURE_HEADER]: sign(receiver.secret, e.body), [IDEMPOTENCY_HEADER]: e.id, 'X-Isoscope-Delivery-Attempt': String(e.attempts) },
        allowPrivate: receiver.allowPrivate,
        timeoutMs: receiver.timeout,
      });
      if (status >= 200 && status < 300) {
        this.o.outbox.done(e.id);
        this.known.delete(e.id);
        this.stats.delivered++;
        this.log.info({ delivery: e.id, alert: e.alert, state: e.state, receiver: e.receiver, attempts: e.attempts }, `Alert ${e.alert} (${e.state}) was delivered to receiver ${e.receiver}.`);
        return;
      }
      retriable = retriableStatus(status);
      e.lastError = `HTTP ${status}`;
    } catch (err) {
      retriable = (err as { permanent?: boolean }).permanent !== true;
      e.lastError = (err as Error).message;
    }
    if (!retriable || e.attempts >= receiver.maxAttempts) return this.fail(e, e.lastError!);
    e.nextAttemptAtMs = Date.now() + backoffDelay(e.attempts, receiver.initialBackoff, receiver.maxBackoff);
    this.o.outbox.put(e);
    this.stats.retries++;
    this.log.warn({ delivery: e.id, receiver: e.receiver, url: safeUrl(receiver.url), attempt: e.attempts, error: e.lastError }, `Delivering alert ${e.alert} to receiver ${e.receiver} failed (${e.lastError}); retrying in ${Math.round(e.nextAttemptAtMs - Date.now())} ms.`);
    this.known.delete(e.id);
    this.schedule(e);
  }

  private async fail(e: OutboxEntry, reason: string): Promise<void> {
    // Recorded first: if that fails, the entry stays pending and the recording is tried again.
    await this.o.onFailed(e, reason);
    this.o.outbox.fail({ ...e, lastError: reason });
    this.known.delete(e.id);
    this.stats.failed++;
    this.log.error({ delivery: e.id, alert: e.alert, receiver: e.receiver, url: safeUrl(e.url), attempts: e.attempts, reason }, `Alert ${e.alert} (${e.state}) could not be delivered to receiver ${e.receiver} after ${e.attempts} attempts: ${reason}. Recorded as alert_delivery_failed; the body is kept in ${this.o.outbox.failedDir}.`);
  }

  /** Stops attempting; pending deliveries stay in the outbox for the next start. */
  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
    clearTimeout(timer);
  }
}
