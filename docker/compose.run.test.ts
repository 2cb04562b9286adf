/**
 * The compose stack's isoscope services run as compose would run them, minus the containers (there
 * is no Docker engine here): the commands and environments come from `docker-compose config`, with
 * the stack's host names pointed at the test run's real Kafka and QuestDB, /run/secrets/* at files
 * in a temporary directory, and 0.0.0.0:<port> at free loopback ports. Two ingest instances (as
 * `--scale ingest=2`), the query service and the alerts evaluator start and pass their compose health
 * checks; both ingest instances are members of one consumer group, and one leaves cleanly on SIGTERM;
 * a collector's samples arrive and the query API (and the web explorer at /) answers with the token
 * from its secret file, while query and alerts hold a wrong QuestDB admin password (they must not
 * need it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePorts } from '../services/ports.js';
import { pollUntil, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import { BIN, stopChildren, tool } from '../deploy/testing.js';

const run = promisify(execFile);
const tempDir = tempDirs('isoscope-compose-run-');
const here = new URL('.', import.meta.url).pathname;
const children: { name: string; child: ChildProcess; output: () => string }[] = [];

interface Service {
  command: string[];
  environment: Record<string, string>;
  healthcheck: { test: string[] };
  volumes?: (string | { source: string; target: string })[];
}

afterAll(() => stopChildren(children));

describe('the compose services, run without containers', () => {
  it('start with the compose commands and environments, pass their health checks, and serve data', async () => {
    const s = testServices();
    const dir = tempDir();
    const secretsEnv = { QUESTDB_PASSWORD: s.questdb.password, QUESTDB_READONLY_PASSWORD: s.questdb.readonlyPassword, QUERY_TOKEN: 'query-token-of-the-compose-run', KAFKA_CLUSTER_ID: 'MkU3OEVBNTcwNTJENDM2Qk' };
    const config = await tool('docker-compose', ['-f', join(here, 'compose.yaml'), '--project-directory', here, 'config'], { env: { ...process.env, ...secretsEnv } });
    expect(config.code, config.stderr).toBe(0);
    const services = (parse(config.stdout) as { services: Record<string, Service> }).services;

    // The secrets, as secrets.sh would have made them, but with the test QuestDB's passwords.
    const secrets: Record<string, string> = {
      questdb_password: s.questdb.password,
      questdb_readonly_password: s.questdb.readonlyPassword,
      query_token: secretsEnv.QUERY_TOKEN,
      webhook_secret: 'a-webhook-secret-long-enough',
    };
    for (const [name, value] of Object.entries(secrets)) writeFileSync(join(dir, name), `${value}\n`, { mode: 0o444 });
    expect(services.ingest!.environment.ISOSCOPE_QUESTDB_READONLY_USER).toBe(s.questdb.readonlyUser);

    const ports = await freePorts(4);
    const portMap = new Map<string, number>();
    const group = { ingest: uniqueName('compose-ingest'), alerts: uniqueName('compose-alerts') };
    /** The compose service's argv and environment, pointed at this machine. */
    const localise = (name: 'ingest' | 'query' | 'alerts', instance: number) => {
      const svc = services[name]!;
      const argv = svc.command.map((a) => {
        const m = /^0\.0\.0\.0:(\d+)$/.exec(a);
        if (m) {
          const key = `${name}${instance}:${m[1]}`;
          if (!portMap.has(key)) portMap.set(key, ports[portMap.size]!);
          return `127.0.0.1:${portMap.get(key)}`;
        }
        // Mounted files: the compose volume's source (`source:target[:mode]` as docker-compose 1.29 prints it).
        const mount = (svc.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0]!, target: v.split(':')[1] } : v)).find((v) => v.target === a);
        return mount ? mount.source : a;
      });
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(svc.environment)) env[k] = v.startsWith('/run/secrets/') ? join(dir, v.slice('/run/secrets/'.length)) : v;
      env.ISOSCOPE_KAFKA_BROKERS = s.kafka.brokers.join(',');
      env.ISOSCOPE_QUESTDB_HTTP = s.questdb.http;
      env.ISOSCOPE_QUESTDB_PG = s.questdb.pg;
      env.ISOSCOPE_DATA_DIR = join(dir, `${name}${instance}`); // the image's /var/lib/isoscope
      if (env.ISOSCOPE_ALERTS_OUTBOX_DIR) env.ISOSCOPE_ALERTS_OUTBOX_DIR = join(dir, 'alerts-outbox');
      if (name === 'ingest') env.ISOSCOPE_INGEST_GROUP = group.ingest; // not the shared default group
      if (name === 'alerts') env.ISOSCOPE_ALERTS_GROUP = group.alerts;
      // Query and alerts get no admin password in compose; a wrong one proves they never use it.
      if (name !== 'ingest') env.ISOSCOPE_QUESTDB_PASSWORD = 'not-the-admin-password';
      return { argv, env };
    };
    const start = (name: 'ingest' | 'query' | 'alerts', instance = 0) => {
      const { argv, env } = localise(name, instance);
      const child = spawn(process.execPath, [BIN, ...argv], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env, ISOSCOPE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      children.push({ name: `${name}${instance}`, child, output: () => output });
    };
    start('ingest', 0);
    start('ingest', 1);
    start('query');
    start('alerts');
    const describeAll = () => children.map((c) => `--- ${c.name} (exit ${c.child.exitCode ?? c.child.signalCode ?? 'running'}):\n${c.output()}`).join('\n');

    // Each compose health check, with its port pointed at the instance's.
    const healthy = async (name: 'ingest' | 'query' | 'alerts', instance = 0): Promise<boolean> => {
      const [kind, file, ...args] = services[name]!.healthcheck.test;
      expect(kind).toBe('CMD');
      expect(file).toBe('node');
      const proc = children.find((c) => c.name === `${name}${instance}`)!;
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}:\n${proc.output()}`);
      const port = [...portMap.entries()].find(([k]) => k.startsWith(`${name}${instance}:`))?.[1];
      const local = args.map((a) => a.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
      return run(process.execPath, local, { timeout: 10_000 }).then(() => true, () => false);
    };
    for (const [name, instance] of [['ingest', 0], ['ingest', 1], ['query', 0], ['alerts', 0]] as const) {
      const ok = await pollUntil(() => healthy(name, instance), (x) => x, 180_000, 1000);
      expect(ok, `${name}${instance} never passed its health check\n${describeAll()}`).toBe(true);
    }

    // Both ingest instances are members of one consumer group (what `--scale ingest=2` relies on).
    const admin = new Kafka({ clientId: 'compose-run-test', brokers: s.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const members = await pollUntil(async () => (await admin.describeGroups([group.ingest])).groups[0]?.members.length ?? 0, (n) => n === 2, 30_000, 1000);
      expect(members, describeAll()).toBe(2);
    } finally {
      await admin.disconnect();
    }
    // One instance leaves (as `--scale ingest=1` would stop it): it exits cleanly on SIGTERM, and the
    // other takes over its partitions. (Two members reading the shared test bus's whole history on
    // a loaded machine kept rebalancing, which is ingest's business, not this file's.)
    const second = children.find((c) => c.name === 'ingest1')!;
    const exited = new Promise<number | null>((r) => second.child.once('exit', (code) => r(code)));
    second.child.kill('SIGTERM');
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000))]), second.output()).toBe(0);

    // A collector on a "node" produces; the rows arrive through ingest.
    const node = uniqueName('compose-node');
    const collected = await run(process.execPath, [BIN, 'collector', '--sink', 'kafka', '--source', 'procfs', '--count', '3', '--interval', '200ms'], {
      cwd: dir,
      env: { ...process.env, ISOSCOPE_KAFKA_BROKERS: s.kafka.brokers.join(','), ISOSCOPE_NODE: node, ISOSCOPE_DATA_DIR: join(dir, 'collector'), ISOSCOPE_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    const sent = Number(/sent 3 batches, (\d+) samples/.exec(collected.stderr)?.[1]);
    expect(sent, collected.stderr).toBeGreaterThan(0);

    // The query API, as Grafana and Prometheus reach it: with the token from the secret file.
    const queryUrl = `http://127.0.0.1:${[...portMap.entries()].find(([k]) => k.startsWith('query0:'))![1]}`;
    const token = readFileSync(join(dir, 'query_token'), 'utf8').trim();
    const count = async () => {
      const res = await fetch(`${queryUrl}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ sql: `SELECT count(*) AS n FROM samples WHERE node = '${node}'` }) });
      const body = (await res.json()) as { rows?: [number][] };
      return Number(body.rows?.[0]?.[0] ?? 0);
    };
    expect(await pollUntil(count, (n) => n >= sent, 240_000, 1000), describeAll()).toBe(sent);
    // The web explorer is served by the same service.
    const page = await fetch(`${queryUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    // Writes are refused: the query service runs as QuestDB's read-only user.
    const drop = await fetch(`${queryUrl}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"sql":"DROP TABLE samples"}' });
    expect(drop.status).toBe(400);

    for (const c of children.filter((x) => x.name !== 'ingest1')) expect(c.child.exitCode, `${c.name} exited\n${c.output()}`).toBeNull();
  }, 600_000); // several processes; on the shared 2-core machine at load 40-55 a start took over 90 s
});
