/**
 * The collector's /metrics through the real command line: `isoscope collector --sink kafka` with Kafka
 * unreachable and the smallest spool bound (1 MiB) fills its spool, drops the oldest batches, and
 * says so on /metrics, which is what deploy/prometheus/rules.yaml alerts on.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { pollUntil } from '../../test/services.js';
import { tempDirs } from '../../test/temp-dirs.js';

const tempDir = tempDirs('isoscope-collector-metrics-');
const BIN = new URL('../../bin/isoscope.js', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('collector metrics', () => {
  it('count the batches the spool dropped while Kafka was away', async () => {
    const [metricsPort, deadPort] = [await freePort(), await freePort()];
    const dir = tempDir();
    const child = spawn(process.execPath, [BIN, 'collector', '--sink', 'kafka', '--source', 'procfs', '--interval', '10ms', '--metrics-listen', `127.0.0.1:${metricsPort}`], {
      cwd: dir,
      env: { ...process.env, ISOSCOPE_NODE: 'metrics-test', ISOSCOPE_KAFKA_BROKERS: `127.0.0.1:${deadPort}`, ISOSCOPE_COLLECTOR_SPOOL_MAX_BYTES: String(1024 * 1024), ISOSCOPE_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const scrape = async () => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => null);
        return res?.ok ? await res.text() : '';
      };
      const value = (body: string, name: string) => Number(new RegExp(`^${name}\\{collector="metrics-test/procfs"\\} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
      const body = await pollUntil(scrape, (b) => value(b, 'isoscope_collector_dropped_batches_total') > 0, 150_000, 200);
      expect(value(body, 'isoscope_collector_dropped_batches_total'), `last scrape:\n${body}\ncollector stderr:\n${stderr}`).toBeGreaterThan(0);
      expect(body).toMatch(/^# TYPE isoscope_collector_dropped_batches_total counter$/m);
      expect(value(body, 'isoscope_collector_spool_bytes')).toBeLessThanOrEqual(1024 * 1024);
      expect(value(body, 'isoscope_collector_spool_batches')).toBeGreaterThan(10);
      expect(value(body, 'isoscope_collector_batches_total')).toBeGreaterThanOrEqual(value(body, 'isoscope_collector_spool_batches'));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 240_000); // a loaded 2-core machine can take a minute to start the collector
});
