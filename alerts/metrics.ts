/**
 * The alerts evaluator's own Prometheus metrics (`isoscope alerts run --metrics-listen`, served by
 * ingest/metrics-server.ts): samples evaluated and skipped, alerts fired and resolved, and the webhook
 * deliveries (attempts, retries, delivered, failed for good, pending in the outbox), read from the
 * evaluator's and deliverer's stats at scrape time. deploy/prometheus/rules.yaml alerts on failures.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge } from '../core/scrape-metrics.js';
import type { DeliveryStats } from './delivery/deliverer.js';
import type { EvaluatorStats } from './evaluator.js';

/** What the metrics read: an Evaluator. */
export interface AlertsFigures {
  readonly stats: EvaluatorStats;
  readonly deliverer: { readonly stats: DeliveryStats; readonly pending: number };
}

export function alertsMetrics(evaluator: AlertsFigures): Registry {
  const registry = new Registry();
  const e = evaluator.stats;
  const d = evaluator.deliverer.stats;
  scrapedCounter(registry, 'isoscope_alerts_samples_total', 'Samples evaluated by the rules.', () => e.samples);
  scrapedCounter(registry, 'isoscope_alerts_samples_skipped_total', 'Samples skipped because they were older than alerts.maxAgeMs on arrival.', () => e.skippedOld);
  scrapedCounter(registry, 'isoscope_alerts_fired_total', 'Alerts that started firing.', () => e.fired);
  scrapedCounter(registry, 'isoscope_alerts_resolved_total', 'Alerts that resolved.', () => e.resolved);
  scrapedCounter(registry, 'isoscope_alerts_webhook_attempts_total', 'Webhook POSTs attempted.', () => d.attempts);
  scrapedCounter(registry, 'isoscope_alerts_webhook_retries_total', 'Webhook deliveries scheduled for another attempt after a retriable failure.', () => d.retries);
  scrapedCounter(registry, 'isoscope_alerts_webhook_delivered_total', 'Webhook deliveries the receiver accepted.', () => d.delivered);
  scrapedCounter(registry, 'isoscope_alerts_webhook_failed_total', 'Webhook deliveries that failed for good (after the last attempt, or permanently) and became alert_delivery_failed events.', () => d.failed);
  scrapedGauge(registry, 'isoscope_alerts_webhook_pending', 'Webhook deliveries waiting in the outbox.', () => evaluator.deliverer.pending);
  collectDefaultMetrics({ register: registry, prefix: 'isoscope_alerts_' });
  return registry;
}
