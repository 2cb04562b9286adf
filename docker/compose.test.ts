/**
 * The compose stack and the Dockerfile, checked by real tools without a Docker engine (there is none
 * here): `docker-compose config` (Debian's docker-compose 1.29) validates and resolves compose.yaml;
 * every image tag is pinned; every isoscope service runs a command and options the CLI has; the
 * shipped alert rules pass `isoscope alerts check`; the stack's Prometheus configuration passes
 * `promtool check config`; secrets.sh makes the secrets once. Images are not built or run here
 * (docker/README.md says how an operator checks them).
 */
import { cpSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, checkCommandLine, tool } from '../deploy/testing.js';
import { tempDirs } from '../test/temp-dirs.js';

const tempDir = tempDirs('isoscope-compose-');
const here = new URL('.', import.meta.url).pathname;
const root = new URL('..', import.meta.url).pathname;
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** What secrets.sh puts in .env, for interpolation (given through the environment, so nothing is written here). */
const secretsEnv = { QUESTDB_PASSWORD: 'admin-password-for-the-test', QUESTDB_READONLY_PASSWORD: 'reader-password-for-the-test', QUERY_TOKEN: 'query-token-for-the-test-0123', KAFKA_CLUSTER_ID: 'MkU3OEVBNTcwNTJENDM2Qk' };

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: unknown[];
  container_name?: string;
  healthcheck?: { test: string[] };
  volumes?: unknown[];
  secrets?: unknown[];
}

async function composeConfig(env: Record<string, string>) {
  const noDotEnv = { ...process.env, ...env };
  return tool('docker-compose', ['-f', join(here, 'compose.yaml'), '--project-directory', here, 'config'], { env: noDotEnv });
}

let once: Promise<Record<string, Service>> | null = null;
/** The compose file as docker-compose resolves it (anchors merged, paths absolute), read once. */
function resolved(): Promise<Record<string, Service>> {
  once ??= composeConfig(secretsEnv).then((r) => {
    if (r.code !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
    return (parse(r.stdout) as { services: Record<string, Service> }).services;
  });
  return once;
}

describe('docker/compose.yaml', () => {
  it('docker-compose config validates it, and it has the whole central stack', async () => {
    const services = await resolved();
    expect(Object.keys(services).sort()).toEqual(['alerts', 'grafana', 'ingest', 'kafka', 'prometheus', 'query', 'questdb']);
    expect(readFileSync(join(here, 'compose.yaml'), 'utf8')).not.toMatch(/^name:/m); // docker-compose 1.29 refuses it
  });

  it('refuses to start without the secrets instead of defaulting them', async () => {
    const r = await composeConfig({ QUESTDB_PASSWORD: '', QUESTDB_READONLY_PASSWORD: '', QUERY_TOKEN: '', KAFKA_CLUSTER_ID: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/run \.\/secrets\.sh first/);
  });

  it('pins every image tag; the isoscope image is tagged with the package version', async () => {
    for (const [name, s] of Object.entries(await resolved())) {
      expect(s.image, name).toMatch(/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/);
      const tag = s.image!.split(':').pop()!;
      expect(tag, `${name}: ${s.image}`).not.toMatch(/^(latest|stable|main|edge)$/);
      expect(tag, `${name}: ${s.image}`).toMatch(/\d+\.\d+/);
      if (s.build) expect(s.image, name).toBe(`isoscope:${version}`);
    }
    const dockerfile = readFileSync(join(here, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
  });

  it("runs isoscope commands and options that exist in the CLI", async () => {
    const isoscope = Object.entries(await resolved()).filter(([, s]) => s.build);
    expect(isoscope.map(([n]) => n).sort()).toEqual(['alerts', 'ingest', 'query']);
    for (const [name, s] of isoscope) expect(await checkCommandLine(s.command ?? []), `${name}: ${s.command?.join(' ')}`).toEqual([]);
    // The check can fail: a misspelt option and a missing command are reported.
    expect(await checkCommandLine(['alerts', 'run', '--metric-listen', '0.0.0.0:9465'])).toEqual(['isoscope alerts run has no option --metric-listen']);
    expect(await checkCommandLine(['ingester', '--bus', 'kafka'])).toEqual(['isoscope has no command "ingester"']);
  });

  it('gives isoscope its secrets as files, and query and alerts no admin password', async () => {
    for (const [name, s] of Object.entries(await resolved()).filter(([, x]) => x.build)) {
      const env = s.environment ?? {};
      for (const key of Object.keys(env)) expect(key, `${name}: a secret in plain environment`).not.toMatch(/^ISOSCOPE_.*(PASSWORD|TOKEN|SECRET)$/);
      for (const [key, value] of Object.entries(env)) if (key.endsWith('_FILE')) expect(value, `${name}: ${key}`).toMatch(/^\/run\/secrets\/[a-z_]+$/);
      if (name !== 'ingest') {
        expect(env.ISOSCOPE_QUESTDB_CREATE_TABLES, name).toBe('false');
        expect(env.ISOSCOPE_QUESTDB_PASSWORD_FILE, name).toBeUndefined();
      }
    }
  });

  it('scales ingest (no fixed name or host port), keeps state in volumes, and health-checks every service', async () => {
    const services = await resolved();
    expect(services.ingest!.container_name).toBeUndefined();
    expect(services.ingest!.ports).toBeUndefined();
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
    const volumeOf = (name: string) => JSON.stringify(services[name]!.volumes ?? []);
    expect(volumeOf('kafka')).toMatch(/kafka-data.*\/var\/lib\/kafka\/data/);
    expect(volumeOf('questdb')).toMatch(/questdb-data.*\/var\/lib\/questdb/);
    expect(volumeOf('alerts')).toMatch(/alerts-data.*\/var\/lib\/isoscope/);
    expect(volumeOf('grafana')).toMatch(/grafana-data.*\/var\/lib\/grafana/);
    expect(volumeOf('grafana')).toMatch(/grafana\/provisioning\/datasources.*\/etc\/grafana\/provisioning\/datasources/);
    expect(volumeOf('grafana')).toMatch(/grafana\/dashboards.*\/var\/lib\/grafana\/dashboards\/isoscope/);
    expect(volumeOf('prometheus')).toMatch(/prometheus-data.*\/prometheus/);
    expect(services.questdb!.environment!.QDB_PG_READONLY_USER_ENABLED).toBe('true');
  });

  it('ships alert rules that isoscope alerts check accepts', async () => {
    const r = await tool(process.execPath, [BIN, 'alerts', 'check', join(here, 'alerts.yaml')], { env: { ...process.env, ISOSCOPE_LAB_WEBHOOK_SECRET: 'a-webhook-secret-long-enough' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/alerts\.yaml: 1 rules, 1 receivers: OK/);
  });

  it("the stack's Prometheus configuration passes promtool check config with the shared rules", async () => {
    const dir = tempDir();
    copyFileSync(join(here, 'prometheus.yml'), join(dir, 'prometheus.yml'));
    copyFileSync(join(root, 'deploy/prometheus/rules.yaml'), join(dir, 'rules.yaml'));
    copyFileSync(join(here, 'isoscope-collectors.yaml'), join(dir, 'isoscope-collectors.yaml'));
    writeFileSync(join(dir, 'isoscope-query-token'), 'token\n'); // where compose mounts secrets/query_token
    const r = await tool('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/WARNING/);
    // Every mounted file exists in the repository.
    const mounts = JSON.stringify((await resolved()).prometheus!.volumes);
    for (const f of ['docker/prometheus.yml', 'deploy/prometheus/rules.yaml', 'docker/isoscope-collectors.yaml']) expect(mounts).toContain(join(root, f));
  });

  it('secrets.sh writes each secret once, private, and keeps them on a second run', async () => {
    const dir = tempDir();
    cpSync(join(here, 'secrets.sh'), join(dir, 'secrets.sh'));
    const first = await tool(join(dir, 'secrets.sh'), []);
    expect(first.code, first.stderr).toBe(0);
    const token = readFileSync(join(dir, 'secrets/query_token'), 'utf8');
    expect(token).toMatch(/^[A-Za-z0-9]{32,}$/);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    const env = readFileSync(join(dir, '.env'), 'utf8');
    expect(env).toContain(`QUERY_TOKEN=${token}\n`);
    expect(/^KAFKA_CLUSTER_ID=([A-Za-z0-9_-]{22})$/m.exec(env)?.[1]).not.toMatch(/^-/);
    const second = await tool(join(dir, 'secrets.sh'), []);
    expect(second.stdout).not.toMatch(/created/);
    expect(readFileSync(join(dir, 'secrets/query_token'), 'utf8')).toBe(token);
  });
});

describe('docker/Dockerfile', () => {
  const text = readFileSync(join(here, 'Dockerfile'), 'utf8');
  it('builds in one stage (TypeScript and the eBPF objects) and runs from another as a non-root user', () => {
    expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    const build = text.slice(text.indexOf('AS build'), text.indexOf('AS runtime'));
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/collectors\/ebpf\/build\.sh/);
    expect(build).toMatch(/npm prune --omit=dev/);
    const runtime = text.slice(text.indexOf('AS runtime'), text.indexOf('AS collector'));
    expect(runtime).toMatch(/^USER isoscope$/m);
    expect(runtime).not.toMatch(/clang|bpftool|libbpf-dev/);
    // The collector variant says why it needs --privileged and --pid host.
    expect(text).toMatch(/--privileged: perf_event_open/);
    expect(text).toMatch(/--pid host: /);
    // The last stage (the default target) is the non-root runtime.
    expect(text.trim().split('\n').at(-1)).toBe('FROM runtime');
  });

  it('is built from a context without local state or secrets', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', 'data', '.isoscope', '.git', 'docker/.env', 'docker/secrets']) expect(ignore, p).toContain(p);
  });
});
