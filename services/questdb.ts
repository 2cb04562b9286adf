// One QuestDB server on loopback for development and integration tests: HTTP (REST /exec and the web
// console), PostgreSQL wire protocol with the admin user and QuestDB's built-in read-only user (which the
// query layer uses to run user SQL), and ILP over TCP. Configured through QDB_* environment variables.
import { appendFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import pg from 'pg';
import { LOOPBACK, portOf } from './ports.js';
import { identityArgs, spawnService, type SpawnedService } from './process.js';

/** QuestDB's default administrator (full access over PG wire). */
export const QUESTDB_ADMIN = { user: 'admin', password: 'quest' } as const;

/** The read-only PG-wire user we enable: SELECT works, CREATE/INSERT/DROP are refused. */
export const QUESTDB_READONLY = { user: 'reader', password: 'reader' } as const;

/** Where one QuestDB keeps its files under the state directory. */
export interface QuestdbPaths {
  /** `<stateDir>/questdb`: everything of this QuestDB. */
  home: string;
  /** `<stateDir>/questdb/root`: QuestDB's root directory (`-d`: conf/, db/, import/). */
  dataDir: string;
  /** stdout and stderr of the JVM (QuestDB logs to stdout). */
  logFile: string;
  pidFile: string;
}

/** Paths of the QuestDB that belongs to `stateDir` (absolute). */
export function questdbPaths(stateDir: string): QuestdbPaths {
  const home = join(stateDir, 'questdb');
  return { home, dataDir: join(home, 'root'), logFile: join(home, 'questdb.log'), pidFile: join(home, 'questdb.pid') };
}

/** Ports of one QuestDB. */
export interface QuestdbPorts {
  http: number;
  pg: number;
  ilpTcp: number;
  /** The minimal HTTP server (health and metrics); not published in the state file. */
  httpMin: number;
}

/** What {@link startQuestdb} needs. */
export interface QuestdbStartOptions {
  java: string;
  /** The QuestDB jar (from services/maven.ts). */
  jar: string;
  /** Absolute state directory. */
  stateDir: string;
  ports: QuestdbPorts;
}

/**
 * Spawns QuestDB detached with every listener bound to loopback, telemetry off and the read-only user on;
 * returns as soon as the JVM runs (use {@link probeQuestdb} to wait for it). The pid goes to
 * `<stateDir>/questdb/questdb.pid`.
 */
export async function startQuestdb(opts: QuestdbStartOptions): Promise<SpawnedService> {
  const paths = questdbPaths(opts.stateDir);
  await mkdir(paths.dataDir, { recursive: true });
  appendFileSync(paths.logFile, `--- isoscope services: starting QuestDB on ${LOOPBACK}:${opts.ports.http} at ${new Date().toISOString()} ---\n`);
  const spawned = spawnService({
    java: opts.java,
    args: [
      '-Xmx1g',
      ...identityArgs({ service: 'questdb', stateDir: opts.stateDir }),
      '-p',
      opts.jar,
      '-m',
      'io.questdb/io.questdb.ServerMain',
      '-d',
      paths.dataDir,
    ],
    env: {
      QDB_HTTP_BIND_TO: `${LOOPBACK}:${opts.ports.http}`,
      QDB_HTTP_MIN_NET_BIND_TO: `${LOOPBACK}:${opts.ports.httpMin}`,
      QDB_PG_NET_BIND_TO: `${LOOPBACK}:${opts.ports.pg}`,
      QDB_LINE_TCP_NET_BIND_TO: `${LOOPBACK}:${opts.ports.ilpTcp}`,
      QDB_LINE_UDP_ENABLED: 'false',
      QDB_TELEMETRY_ENABLED: 'false',
      QDB_PG_USER: QUESTDB_ADMIN.user,
      QDB_PG_PASSWORD: QUESTDB_ADMIN.password,
      QDB_PG_READONLY_USER_ENABLED: 'true',
      QDB_PG_READONLY_USER: QUESTDB_READONLY.user,
      QDB_PG_READONLY_PASSWORD: QUESTDB_READONLY.password,
    },
    cwd: paths.home,
    logFile: paths.logFile,
  });
  await writeFile(paths.pidFile, `${spawned.pid}\n`);
  return spawned;
}

/**
 * True if QuestDB's HTTP endpoint at `http` ("127.0.0.1:port") answers `select 1` with status 200.
 * @default timeoutMs 3000
 */
export function probeQuestdb(http: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`http://${http}/exec?query=select%201`, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200));
      res.once('error', () => resolve(false));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(false));
  });
}

/**
 * True if QuestDB's PostgreSQL endpoint at `address` ("127.0.0.1:port") lets `user` log in and run `select 1`.
 * @default timeoutMs 3000
 */
export async function probeQuestdbPg(
  address: string,
  login: { user: string; password: string } = QUESTDB_ADMIN,
  timeoutMs = 3000,
): Promise<boolean> {
  const client = new pg.Client({
    host: address.slice(0, address.lastIndexOf(':')),
    port: portOf(address),
    user: login.user,
    password: login.password,
    database: 'qdb',
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const res = await client.query('select 1 as ok');
    return res.rows.length === 1;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
