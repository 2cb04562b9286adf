/**
 * The webhook body: Prometheus Alertmanager's webhook format (version "4"), so existing receivers
 * work unchanged, plus isoscope's own top-level fields `run`, `partition`, `node` and `seriesUrl`
 * (the aligned series of the run in the query API). One alert per body: each incident's firing and
 * resolution is its own delivery with its own idempotency key.
 */
import { createHash } from 'node:crypto';
import type { Transition } from '../engine.js';

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookBody {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
  run: string | null;
  partition: string | null;
  node: string | null;
  seriesUrl: string;
}

/** Alertmanager's "zero" time, which it sends as endsAt of a firing alert. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The aligned series of the alert's run in the query API (issue 7's GET /api/series). */
export function seriesUrl(baseUrl: string, t: Pick<Transition, 'run' | 'node' | 'rule' | 'series'>): string {
  const q = new URLSearchParams();
  if (t.run) q.set('run', t.run);
  q.set('metric', t.rule.metric);
  if (t.node) q.set('node', t.node);
  if (t.series.cpu !== undefined) q.set('cpu', t.series.cpu);
  return `${baseUrl.replace(/\/+$/, '')}/api/series?${q.toString()}`;
}

/** The labels of the alert: alertname, severity, rule labels, then the series dimensions. */
export function alertLabels(t: Transition): Record<string, string> {
  return { alertname: t.rule.name, severity: t.rule.severity, metric: t.rule.metric, ...t.rule.labels, ...t.series };
}

export function webhookBody(t: Transition, receiver: string, baseUrl: string): WebhookBody {
  const labels = alertLabels(t);
  const url = seriesUrl(baseUrl, t);
  const annotations = { summary: t.rule.summary ?? `${t.rule.metric} is abnormal`, description: t.message, series: url };
  return {
    version: '4',
    groupKey: `{}:{alertname=${JSON.stringify(t.rule.name)}}`,
    truncatedAlerts: 0,
    status: t.state,
    receiver,
    groupLabels: { alertname: t.rule.name },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: baseUrl,
    alerts: [{
      status: t.state,
      labels,
      annotations,
      startsAt: isoNs(t.startsAt),
      endsAt: t.state === 'resolved' ? isoNs(t.ts) : ZERO_TIME,
      generatorURL: url,
      fingerprint: fingerprint(labels),
    }],
    run: t.run,
    partition: t.partition,
    node: t.node,
    seriesUrl: url,
  };
}

/** Like Alertmanager's: a 16-hex-digit hash of the sorted label set. */
export function fingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels).sort().map((k) => `${k}\u00ff${labels[k]}`).join('\u00ff');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** RFC 3339 with the nanoseconds. */
export function isoNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}
