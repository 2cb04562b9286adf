/** The alerts evaluator's /metrics: figures read at scrape time, served over a real socket. */
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsServer } from '../ingest/metrics-server.js';
import { alertsMetrics } from './metrics.js';

describe('alerts metrics', () => {
  const servers: MetricsServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.shutdown();
  });

  it('serve the evaluator and webhook figures as they are at each scrape', async () => {
    const figures = {
      stats: { samples: 120, skippedOld: 3, fired: 2, resolved: 1 },
      deliverer: { stats: { attempts: 5, delivered: 2, failed: 0, retries: 3 }, pending: 1 },
    };
    const server = new MetricsServer(alertsMetrics(figures), '127.0.0.1:0', 'alerts metrics');
    servers.push(server);
    await server.start();
    const body = await (await fetch(`http://${server.address}/metrics`)).text();
    expect(body).toMatch(/^# TYPE isoscope_alerts_webhook_failed_total counter$/m);
    expect(body).toMatch(/^isoscope_alerts_samples_total 120$/m);
    expect(body).toMatch(/^isoscope_alerts_samples_skipped_total 3$/m);
    expect(body).toMatch(/^isoscope_alerts_fired_total 2$/m);
    expect(body).toMatch(/^isoscope_alerts_webhook_attempts_total 5$/m);
    expect(body).toMatch(/^isoscope_alerts_webhook_retries_total 3$/m);
    expect(body).toMatch(/^isoscope_alerts_webhook_failed_total 0$/m);
    expect(body).toMatch(/^isoscope_alerts_webhook_pending 1$/m);
    expect(body).toMatch(/^isoscope_alerts_process_cpu_seconds_total /m);
    figures.deliverer.stats.failed = 1;
    figures.deliverer.pending = 0;
    const again = await (await fetch(`http://${server.address}/metrics`)).text();
    expect(again).toMatch(/^isoscope_alerts_webhook_failed_total 1$/m);
    expect(again).toMatch(/^isoscope_alerts_webhook_pending 0$/m);
  });

  it('name the address when it is taken', async () => {
    const first = new MetricsServer(alertsMetrics({ stats: { samples: 0, skippedOld: 0, fired: 0, resolved: 0 }, deliverer: { stats: { attempts: 0, delivered: 0, failed: 0, retries: 0 }, pending: 0 } }), '127.0.0.1:0', 'alerts metrics');
    servers.push(first);
    await first.start();
    await expect(new MetricsServer(alertsMetrics({ stats: { samples: 0, skippedOld: 0, fired: 0, resolved: 0 }, deliverer: { stats: { attempts: 0, delivered: 0, failed: 0, retries: 0 }, pending: 0 } }), first.address, 'alerts metrics').start()).rejects.toThrow(/^cannot serve alerts metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});
