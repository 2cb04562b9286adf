/**
 * A real Prometheus on loopback with the shipped scrape jobs (deploy/prometheus/prometheus.yml, its
 * targets pointed at this machine) scrapes a running collector → Kafka → ingest → QuestDB pipeline,
 * the query service and the alerts evaluator, and its HTTP API returns their series and the loaded
 * alerting rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePorts } from '../../services/ports.js';
import { pollUntil, servicesEnv, testServices, uniqueName } from '../../test/services.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { BIN, stopChildren } from '../testing.js';

const tempDir = tempDirs('isoscope-scrape-');
const here = new URL('.', import.meta.url).pathname;
const children: { name: string; child: ChildProcess; output: () => string }[] = [];

function start(name: string, file: string, args: string[], env: Record<string, string>, cwd: string) {
  const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  children.push({ name, child, output: () => output });
}

afterAll(() => stopChildren(children));

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

describe('Prometheus scraping isoscope', () => {
  it('has the series of ingest, query, alerts and a collector, and the rules loaded', async () => {
    const s = testServices();
    const dir = tempDir();
    const [ingestPort, queryPort, alertsPort, collectorPort, promPort] = await freePorts(5);
    const node = uniqueName('scrape');
    const token = 'a-query-token-for-the-scrape-test';
    const env = { ...servicesEnv(s), ISOSCOPE_NODE: node, ISOSCOPE_LOG_LEVEL: 'warn', ISOSCOPE_LAB_WEBHOOK_SECRET: 'a-webhook-secret-long-enough' };
    const cli = (name: string, args: string[]) => start(name, process.execPath, [BIN, ...args], env, dir);
    cli('ingest', ['ingest', '--bus', 'kafka', '--store', 'questdb', '--group', uniqueName('scrape-ingest'), '--metrics-listen', `127.0.0.1:${ingestPort}`]);
    start('query', process.execPath, [BIN, 'query', '--store', 'questdb', '--listen', `127.0.0.1:${queryPort}`], { ...env, ISOSCOPE_QUERY_TOKEN: token }, dir);
    cli('alerts', ['alerts', 'run', '--rules', new URL('../../alerts/testdata/rules.example.yaml', import.meta.url).pathname, '--bus', 'kafka', '--store', 'questdb', '--group', uniqueName('scrape-alerts'), '--metrics-listen', `127.0.0.1:${alertsPort}`]);
    cli('collector', ['collector', '--sink', 'kafka', '--source', 'procfs', '--interval', '500ms', '--metrics-listen', `127.0.0.1:${collectorPort}`]);

    // The shipped configuration, with its targets on this machine and a 1 s scrape interval.
    const config = parse(readFileSync(join(here, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; file_sd_configs?: { files: string[] }[] }[];
    };
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    const targets: Record<string, number> = { 'isoscope-ingest': ingestPort!, 'isoscope-query': queryPort!, 'isoscope-alerts': alertsPort! };
    for (const job of config.scrape_configs) {
      if (job.static_configs) job.static_configs = [{ targets: [`127.0.0.1:${targets[job.job_name]}`] }];
      else expect(job.file_sd_configs![0]!.files).toEqual(['isoscope-collectors.yaml']);
    }
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    copyFileSync(join(here, 'rules.yaml'), join(dir, 'rules.yaml'));
    writeFileSync(join(dir, 'isoscope-collectors.yaml'), stringify([{ targets: [`127.0.0.1:${collectorPort}`], labels: { testbed: 'scrape-test' } }]));
    writeFileSync(join(dir, 'isoscope-query-token'), `${token}\n`);
    start('prometheus', 'prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], {}, dir);

    const api = `http://127.0.0.1:${promPort}/api/v1`;
    const query = async (q: string): Promise<Vector[]> => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`).catch(() => null);
      if (!res?.ok) return [];
      return ((await res.json()) as { data: { result: Vector[] } }).data.result;
    };
    const describeAll = () => children.map((c) => `--- ${c.name} (exit ${c.child.exitCode ?? c.child.signalCode ?? 'running'}):\n${c.output()}`).join('\n');

    // Every job's target is up (Prometheus reached /metrics and parsed it).
    const up = await pollUntil(() => query('up'), (r) => r.length === 4 && r.every((v) => v.value[1] === '1'), 180_000, 1000);
    expect(Object.fromEntries(up.map((v) => [v.metric.job, v.value[1]])), describeAll()).toEqual({ 'isoscope-ingest': '1', 'isoscope-query': '1', 'isoscope-alerts': '1', 'isoscope-collector': '1' });
    expect(up.find((v) => v.metric.job === 'isoscope-collector')!.metric.testbed).toBe('scrape-test');

    // Ingest wrote the collector's samples; the rows counter shows them.
    const rows = await pollUntil(() => query('isoscope_ingest_rows_total{topic="samples"}'), (r) => Number(r[0]?.value[1] ?? 0) > 0, 60_000, 1000);
    expect(Number(rows[0]?.value[1] ?? 0), describeAll()).toBeGreaterThan(0);
    const lag = await query('isoscope_ingest_lag_messages');
    expect(lag.map((v) => v.metric.topic)).toContain('samples');
    // A new group reads the shared test Kafka from the beginning, other tests' invalid messages included.
    expect(Number((await query('isoscope_ingest_dead_letters_total{topic="samples"}'))[0]?.value[1] ?? -1)).toBeGreaterThanOrEqual(0);

    // The query service counted the scrapes of its own /metrics.
    const requests = await pollUntil(() => query('isoscope_query_requests_total{route="/metrics"}'), (r) => r.length > 0, 30_000, 1000);
    expect(requests[0]!.metric).toMatchObject({ job: 'isoscope-query', method: 'GET', status: '200' });

    // The alerts evaluator and the collector.
    expect((await query('isoscope_alerts_webhook_failed_total'))[0]?.value[1]).toBe('0');
    expect(Number((await query('isoscope_alerts_samples_total'))[0]?.value[1] ?? -1)).toBeGreaterThanOrEqual(0);
    const batches = await query(`isoscope_collector_batches_total{collector="${node}/procfs"}`);
    expect(Number(batches[0]?.value[1] ?? 0), describeAll()).toBeGreaterThan(0);
    expect((await query('isoscope_collector_dropped_batches_total'))[0]?.value[1]).toBe('0');

    // The alerting rules are loaded and evaluate. Of the health alerts, only those about the shared
    // bus's history (other tests' dead letters and sequence gaps) may fire here.
    const rules = (await (await fetch(`${api}/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; health: string }[] }[] } };
    const group = rules.data.groups.find((g) => g.name === 'isoscope');
    expect(group?.rules.length).toBe(10);
    expect(group!.rules.every((r) => r.health !== 'err'), JSON.stringify(group)).toBe(true);
    const firing = (await query('ALERTS{alertstate="firing"}')).map((v) => v.metric.alertname);
    expect(firing.filter((a) => a !== 'IsoscopeIngestDeadLetters' && a !== 'IsoscopeCollectorSequenceGaps')).toEqual([]);
  }, 420_000); // several processes; on the shared 2-core machine at load 40-55 a start took over 90 s
});
