import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configMarkdown } from './docs.js';
import { envFields } from './env.js';
import { loadConfig } from './load.js';
import { readFileSync } from 'node:fs';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function dir(files: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), 'isoscope-config-'));
  made.push(d);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

const servicesJson = (kafka: string, http: string, pg: string) =>
  JSON.stringify({
    version: 1,
    startedAt: new Date().toISOString(),
    kafka: { brokers: [kafka], pid: 1, logFile: '/x/kafka.log', dataDir: '/x/kafka' },
    questdb: { http, pg, ilpTcp: '127.0.0.1:1', user: 'admin', password: 'quest', readonlyUser: 'reader', readonlyPassword: 'r', pid: 1, logFile: '/x/q.log', dataDir: '/x/q' },
  });

describe('loadConfig', () => {
  it('works with no file and no environment: the embedded defaults', () => {
    const cwd = dir();
    const c = loadConfig({ cwd, env: {} });
    expect(c.file).toBeNull();
    expect(c.busKind).toBe('embedded');
    expect(c.storeKind).toBe('duckdb');
    expect(c.dataDir).toBe(join(cwd, 'data'));
    expect(c.collector.intervalMs).toBe(1000);
  });

  it('reads ./isoscope.yaml and lets environment variables override it', () => {
    const cwd = dir({ 'isoscope.yaml': 'node: lab-01\ncollector:\n  intervalMs: 250\nkafka:\n  brokers: ["10.0.0.1:9092"]\n' });
    const c = loadConfig({ cwd, env: { ISOSCOPE_COLLECTOR_INTERVAL_MS: '50', ISOSCOPE_QUESTDB_PG: 'db:8812' } });
    expect(c.file).toBe(join(cwd, 'isoscope.yaml'));
    expect(c.node).toBe('lab-01');
    expect(c.collector.intervalMs).toBe(50);
    expect(c.kafkaBrokers).toEqual(['10.0.0.1:9092']);
    expect(c.busKind).toBe('kafka');
    expect(c.storeKind).toBe('questdb');
    expect(c.questdbPg).toBe('db:8812');
  });

  it('splits list variables on commas', () => {
    const c = loadConfig({ cwd: dir(), env: { ISOSCOPE_KAFKA_BROKERS: 'a:1, b:2' } });
    expect(c.kafkaBrokers).toEqual(['a:1', 'b:2']);
  });

  it('names the file, the field path and the expectation for a bad value', () => {
    const cwd = dir({ 'lab.yaml': 'collector:\n  intervalMs: fast\n' });
    expect(() => loadConfig({ cwd, env: {}, file: 'lab.yaml' })).toThrow(`${join(cwd, 'lab.yaml')}: collector.intervalMs: Invalid input: expected number, received string`);
  });

  it('refuses unknown keys instead of ignoring a typo', () => {
    const cwd = dir({ 'isoscope.yaml': 'colector:\n  intervalMs: 5\n' });
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/isoscope\.yaml: \(top level\): Unrecognized key: "colector"/);
  });

  it('names the environment variable when the bad value came from it', () => {
    expect(() => loadConfig({ cwd: dir(), env: { ISOSCOPE_KAFKA_BROKERS: 'no-port' } })).toThrow(/environment variable ISOSCOPE_KAFKA_BROKERS \(kafka\.brokers\[0\]\): expected host:port/);
  });

  it('reports YAML syntax errors with line and column', () => {
    const cwd = dir({ 'isoscope.yaml': 'node: [unclosed\n' });
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/isoscope\.yaml at line \d+, column \d+: not valid YAML/);
  });

  it('says so when an explicit file does not exist', () => {
    expect(() => loadConfig({ cwd: dir(), env: {}, file: 'missing.yaml' })).toThrow(/missing\.yaml does not exist/);
  });

  it('uses the running services from .isoscope/services.json when nothing else is configured', () => {
    const cwd = dir({ '.isoscope/services.json': servicesJson('127.0.0.1:39092', '127.0.0.1:39000', '127.0.0.1:38812') });
    const c = loadConfig({ cwd, env: {} });
    expect(c.busKind).toBe('kafka');
    expect(c.storeKind).toBe('questdb');
    expect(c.kafkaBrokers).toEqual(['127.0.0.1:39092']);
    expect(c.questdbHttp).toBe('127.0.0.1:39000');
    expect(c.questdbReadonlyUser).toBe('reader');
  });

  it('prefers configured addresses and explicit kinds over the services file', () => {
    const cwd = dir({ '.isoscope/services.json': servicesJson('127.0.0.1:39092', '127.0.0.1:39000', '127.0.0.1:38812') });
    const c = loadConfig({ cwd, env: { ISOSCOPE_KAFKA_BROKERS: 'k:9092' }, overrides: { store: 'duckdb' } });
    expect(c.kafkaBrokers).toEqual(['k:9092']);
    expect(c.storeKind).toBe('duckdb');
  });
});

describe('environment variables', () => {
  it('exist for every field, named after its path', () => {
    const names = envFields().map((f) => f.variable);
    expect(names).toContain('ISOSCOPE_KAFKA_BROKERS');
    expect(names).toContain('ISOSCOPE_COLLECTOR_INTERVAL_MS');
    expect(names).toContain('ISOSCOPE_QUESTDB_READONLY_PASSWORD');
    expect(new Set(names).size).toBe(names.length);
  });

  it('read the value from a file with the _FILE form (Docker secrets, systemd credentials)', () => {
    const d = dir({ 'secrets/query_token': 'a-long-token-from-a-secret-file\n', 'secrets/brokers': 'k1:9092,k2:9092' });
    const c = loadConfig({ cwd: d, env: { ISOSCOPE_QUERY_TOKEN_FILE: join(d, 'secrets/query_token'), ISOSCOPE_KAFKA_BROKERS_FILE: join(d, 'secrets/brokers') } });
    expect(c.query.token).toBe('a-long-token-from-a-secret-file');
    expect(c.kafkaBrokers).toEqual(['k1:9092', 'k2:9092']);
  });

  it('refuse a _FILE that cannot be read, or one set next to its plain variable', () => {
    const d = dir({ token: 'a-long-token-from-a-secret-file' });
    expect(() => loadConfig({ cwd: d, env: { ISOSCOPE_QUERY_TOKEN_FILE: join(d, 'missing') } })).toThrow(/environment variable ISOSCOPE_QUERY_TOKEN_FILE: cannot read .*missing: ENOENT/);
    expect(() => loadConfig({ cwd: d, env: { ISOSCOPE_QUERY_TOKEN_FILE: join(d, 'token'), ISOSCOPE_QUERY_TOKEN: 'another-long-token-value' } })).toThrow(/ISOSCOPE_QUERY_TOKEN and ISOSCOPE_QUERY_TOKEN_FILE are both set/);
  });

  it('are all listed in docs/CONFIG.md', () => {
    const doc = readFileSync(new URL('../docs/CONFIG.md', import.meta.url), 'utf8');
    expect(doc, 'regenerate with: node bin/isoscope.js config env').toContain(configMarkdown());
  });
});
