// Integration test of services/manager.ts against the real Kafka and QuestDB: the pair of the global setup,
// a second pair started and stopped here (nothing of it may survive), the port checks, QuestDB's read-only
// user, and the state file's validation messages.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { testServices } from '../test/services.js';
import { servicesStatus, serviceLines, startServices, stopServices } from './manager.js';
import { freePorts, isPortOpen, portOf } from './ports.js';
import { isAlive, liveGroupMembers } from './process.js';
import { parseServicesState, readServicesState, servicesStatePath, writeServicesState, type ServicesState } from './state.js';

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'isoscope-services-test-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of tempDirs) {
    await stopServices(dir, { purge: true }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

async function pgClient(address: string, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: portOf(address), user, password, database: 'qdb' });
  await client.connect();
  return client;
}

describe('the services of the global setup', () => {
  it('are described by $ISOSCOPE_TEST_SERVICES and answer their health probes', async () => {
    const state = testServices();
    const file = process.env.ISOSCOPE_TEST_SERVICES;
    expect(file, 'the global setup sets ISOSCOPE_TEST_SERVICES').toBeTruthy();
    expect(readServicesState(dirname(file as string))).toEqual(state);
    const report = await servicesStatus(dirname(file as string));
    expect(report.services.map((s) => `${s.name} ${s.up ? 'up' : s.reason}`)).toEqual([
      `kafka up`,
      `questdb-http up`,
      `questdb-pg up`,
      `questdb-ilp up`,
    ]);
    expect(report.allUp).toBe(true);
  });

  it("QuestDB's read-only user can SELECT but not CREATE, INSERT or DROP", async () => {
    const { questdb } = testServices();
    const table = `services_ro_${Date.now()}`;
    const admin = await pgClient(questdb.pg, questdb.user, questdb.password);
    const reader = await pgClient(questdb.pg, questdb.readonlyUser, questdb.readonlyPassword);
    try {
      await admin.query(`CREATE TABLE ${table} (ts TIMESTAMP, v DOUBLE) TIMESTAMP(ts) PARTITION BY DAY`);
      expect((await reader.query(`SELECT count() AS n FROM ${table}`)).rows).toHaveLength(1);
      await expect(reader.query(`CREATE TABLE ${table}_x (ts TIMESTAMP) TIMESTAMP(ts)`)).rejects.toThrow(/permission/i);
      await expect(reader.query(`INSERT INTO ${table} VALUES (now(), 1)`)).rejects.toThrow(/permission/i);
      await expect(reader.query(`DROP TABLE ${table}`)).rejects.toThrow(/permission/i);
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await Promise.all([admin.end(), reader.end()]);
    }
  });
});

describe('a second pair', () => {
  it('starts on free ports, is idempotent, and stops without leaving a process or a listening port', async () => {
    const stateDir = await tempDir();
    const { state, alreadyRunning, stateFile } = await startServices({ stateDir });
    expect(alreadyRunning).toBe(false);
    expect(stateFile).toBe(servicesStatePath(stateDir));
    expect(serviceLines(state)[0]).toMatch(/^kafka 127\.0\.0\.1:\d+$/);
    expect(state.kafka.brokers).not.toEqual(testServices().kafka.brokers);
    expect((await servicesStatus(stateDir)).allUp).toBe(true);

    const again = await startServices({ stateDir });
    expect(again.alreadyRunning).toBe(true);
    expect(again.state).toEqual(state);

    const { stopped } = await stopServices(stateDir);
    expect(stopped.map((s) => s.pid).sort()).toEqual([state.kafka.pid, state.questdb.pid].sort());
    for (const pid of [state.kafka.pid, state.questdb.pid]) {
      expect(isAlive(pid), `pid ${pid} is gone`).toBe(false);
      expect(liveGroupMembers(pid), `process group ${pid} is empty`).toEqual([]);
    }
    const addresses = [...state.kafka.brokers, state.questdb.http, state.questdb.pg, state.questdb.ilpTcp];
    for (const address of addresses) expect(await isPortOpen(portOf(address)), `${address} is closed`).toBe(false);
    expect(readServicesState(stateDir)).toBeNull();
    const status = await servicesStatus(stateDir);
    expect(status.allUp).toBe(false);
    expect((await stopServices(stateDir)).stopped).toEqual([]);
  });

  it('refuses a fixed port that is already taken, naming it, and starts nothing', async () => {
    const stateDir = await tempDir();
    const [port] = (await freePorts(1)) as [number];
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startServices({ stateDir, kafkaPort: port })).rejects.toThrow(
        new RegExp(`port ${port} for Kafka \\(--kafka-port\\) is already in use`),
      );
      expect(readServicesState(stateDir)).toBeNull();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the state file', () => {
  const valid: ServicesState = {
    version: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
    kafka: { brokers: ['127.0.0.1:39092'], pid: 100, logFile: '/x/kafka.log', dataDir: '/x/kafka/data' },
    questdb: {
      http: '127.0.0.1:39000',
      pg: '127.0.0.1:38812',
      ilpTcp: '127.0.0.1:39009',
      user: 'admin',
      password: 'quest',
      readonlyUser: 'reader',
      readonlyPassword: 'reader',
      pid: 101,
      logFile: '/x/questdb.log',
      dataDir: '/x/questdb/root',
    },
  };

  it('round-trips through write and read', async () => {
    const dir = await tempDir();
    await writeServicesState(dir, valid);
    expect(readServicesState(dir)).toEqual(valid);
    expect(JSON.parse(await readFile(servicesStatePath(dir), 'utf8'))).toEqual(valid);
  });

  it('is null when absent', async () => {
    expect(readServicesState(await tempDir())).toBeNull();
  });

  it('names the file and every bad field when the content is wrong', () => {
    const bad = { ...valid, kafka: { ...valid.kafka, brokers: ['nowhere'] }, questdb: { ...valid.questdb, pid: 'x' } };
    expect(() => parseServicesState(bad, '/some/dir/services.json')).toThrow(
      /^\/some\/dir\/services\.json is not a valid isoscope services state file \(kafka\.brokers\.0: expected "host:port"; questdb\.pid: .+\); stop the services with `isoscope services stop` or delete the file$/,
    );
  });

  it('names the file when it is not JSON', async () => {
    const dir = await tempDir();
    await writeFile(servicesStatePath(dir), '{ "version": 1, ');
    expect(() => readServicesState(dir)).toThrow(`${servicesStatePath(dir)} is not valid JSON`);
  });
});

describe('kafka cluster ids', () => {
  it('never start with "-", which the storage tool would read as an option', async () => {
    const { newClusterId } = await import('./kafka.js');
    for (let i = 0; i < 5000; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
