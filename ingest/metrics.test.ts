/** Unit tests of ingest's metrics and their HTTP server, scraped over a real socket. */
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsServer } from './metrics-server.js';
import { IngestMetrics } from './metrics.js';

describe('MetricsServer', () => {
  const servers: MetricsServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.shutdown();
  });

  it('serves the counters, histograms and the lag read at scrape time on /metrics', async () => {
    let lag = [{ topic: 'samples', partition: 0, lag: 40 }, { topic: 'samples', partition: 1, lag: 2 }];
    const metrics = new IngestMetrics(async () => lag);
    metrics.batchDone('samples', 2, '100', Date.now() - 1500, 3, 250);
    metrics.writeSeconds.observe({ topic: 'samples' }, 0.02);
    metrics.deadLetters.inc({ topic: 'samples' });
    metrics.retries.inc({ topic: 'samples' }, 2);
    const server = new MetricsServer(metrics.registry, '127.0.0.1:0');
    servers.push(server);
    await server.start();
    const res = await fetch(`http://${server.address}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toMatch(/^isoscope_ingest_rows_total\{topic="samples"\} 250$/m);
    expect(body).toMatch(/^isoscope_ingest_messages_total\{topic="samples"\} 3$/m);
    expect(body).toMatch(/^isoscope_ingest_committed_offset\{topic="samples",partition="2"\} 100$/m);
    expect(body).toMatch(/^isoscope_ingest_partition_lag_seconds\{topic="samples",partition="2"\} 1\.\d+$/m);
    expect(body).toMatch(/^isoscope_ingest_batch_write_seconds_bucket\{le="0\.025",topic="samples"\} 1$/m);
    expect(body).toMatch(/^isoscope_ingest_dead_letters_total\{topic="samples"\} 1$/m);
    expect(body).toMatch(/^isoscope_ingest_write_retries_total\{topic="samples"\} 2$/m);
    expect(body).toMatch(/^isoscope_ingest_lag_messages\{topic="samples",partition="0"\} 40$/m);
    expect(body).toMatch(/^isoscope_ingest_lag_messages\{topic="samples",partition="1"\} 2$/m);
    lag = [{ topic: 'samples', partition: 0, lag: 0 }];
    const again = await (await fetch(`http://${server.address}/metrics`)).text();
    expect(again).toMatch(/^isoscope_ingest_lag_messages\{topic="samples",partition="0"\} 0$/m);
    expect(again).not.toMatch(/partition="1"\} 2$/m);
  });

  it('leaves the lag series out (unknown) when the bus cannot tell, and 404s other paths', async () => {
    const server = new MetricsServer(new IngestMetrics(async () => { throw new Error('ingest is not started'); }).registry, '127.0.0.1:0');
    servers.push(server);
    await server.start();
    const body = await (await fetch(`http://${server.address}/metrics`)).text();
    expect(body).toMatch(/^# TYPE isoscope_ingest_lag_messages gauge$/m);
    expect(body).not.toMatch(/^isoscope_ingest_lag_messages\{/m);
    expect((await fetch(`http://${server.address}/`)).status).toBe(404);
  });

  it('fails at start, saying where, when the port is taken or the address is bad', async () => {
    const first = new MetricsServer(new IngestMetrics(async () => []).registry, '127.0.0.1:0');
    servers.push(first);
    await first.start();
    await expect(new MetricsServer(new IngestMetrics(async () => []).registry, first.address).start()).rejects.toThrow(/^cannot serve ingest metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    await expect(new MetricsServer(new IngestMetrics(async () => []).registry, 'nowhere').start()).rejects.toThrow(/expected host:port/);
  });
});
