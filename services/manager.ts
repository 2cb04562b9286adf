// Starts, stops and checks the pair of development/test services (Kafka and QuestDB) that belongs to one
// state directory. This is what `isoscope services start|stop|status` and the vitest global setup call;
// the state file it writes is how everything else finds the services.
import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkaPaths, probeKafka, startKafka } from './kafka.js';
import { runningPid, startService, stopService, type ServiceName as OneService } from './single.js';
import { defaultCacheDir, ensureArtifacts } from './maven.js';
import { choosePorts, LOOPBACK } from './ports.js';
import {
  findJava,
  isServiceProcess,
  readPidFile,
  ServicesError,
  stopProcessGroup,
  tailFile,
  type SpawnedService,
} from './process.js';
import { probeQuestdb, probeQuestdbPg, questdbPaths, QUESTDB_ADMIN, QUESTDB_READONLY, startQuestdb } from './questdb.js';
import {
  DEFAULT_STATE_DIR,
  readServicesState,
  removeServicesState,
  resolveStateDir,
  servicesStatePath,
  writeServicesState,
  type ServicesState,
} from './state.js';
import { KAFKA_VERSION, QUESTDB_VERSION } from './versions.js';

export { servicesStatus, type ServicesStatusReport, type ServiceStatus } from './status.js';

/** Options of {@link startServices}; every port left out is picked free. */
export interface StartServicesOptions {
  /** @default '.isoscope' (under the current directory) */
  stateDir?: string;
  kafkaPort?: number;
  questdbHttpPort?: number;
  questdbPgPort?: number;
  questdbIlpPort?: number;
  /** How long each service may take to become healthy. @default 60000 */
  timeoutMs?: number;
  /** @default defaultCacheDir() */
  cacheDir?: string;
  /** Receives progress lines (the CLI writes them to stderr). @default no output */
  log?: (line: string) => void;
}

/** Result of {@link startServices}. */
export interface StartServicesResult {
  state: ServicesState;
  /** Path of the state file. */
  stateFile: string;
  /** True if the pair was already running and nothing was started. */
  alreadyRunning: boolean;
}

const SERVICES = ['kafka', 'questdb'] as const;
type ServiceName = (typeof SERVICES)[number];

function pidFileOf(service: ServiceName, stateDir: string): string {
  return service === 'kafka' ? kafkaPaths(stateDir).pidFile : questdbPaths(stateDir).pidFile;
}

/** `kafka 127.0.0.1:39092`, `questdb-http …`, `questdb-pg …`, `questdb-ilp …`: what `start` prints. */
export function serviceLines(state: ServicesState): string[] {
  return [
    ...state.kafka.brokers.map((b) => `kafka ${b}`),
    `questdb-http ${state.questdb.http}`,
    `questdb-pg ${state.questdb.pg}`,
    `questdb-ilp ${state.questdb.ilpTcp}`,
  ];
}

/**
 * Stops every process of ours recorded for `stateDir` in the state file or the pid files, and removes the
 * pid files. Returns the pids that were running.
 */
async function stopRecorded(stateDir: string, state: ServicesState | null): Promise<{ service: ServiceName; pid: number }[]> {
  const running: { service: ServiceName; pid: number }[] = [];
  for (const service of SERVICES) {
    const pids = new Set([state?.[service].pid, readPidFile(pidFileOf(service, stateDir))]);
    for (const pid of pids) {
      if (pid !== undefined && pid !== null && isServiceProcess(pid, { service, stateDir })) running.push({ service, pid });
    }
  }
  await Promise.all(running.map(({ pid }) => stopProcessGroup(pid)));
  await Promise.all(SERVICES.map((s) => rm(pidFileOf(s, stateDir), { force: true })));
  return running;
}

/** Polls `probe` until it succeeds; fails early if the process exits, and after `timeoutMs` with its log. */
async function waitHealthy(
  title: string,
  spawned: SpawnedService,
  logFile: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  let exit: { code: number | null; signal: string | null } | undefined;
  void spawned.exited.then((e) => (exit = e));
  for (;;) {
    if (await probe()) return Date.now() - started;
    const tail = (): string => {
      const text = tailFile(logFile, 20);
      const hint = /Address already in use|BindException/.test(text)
        ? '\nOne of its ports was taken by another program after it was chosen: run start again, or fix the ports with the --*-port options.'
        : '';
      return `Last 20 lines of its log ${logFile}:\n${text}${hint}`;
    };
    if (exit) throw new ServicesError(`${title} exited during start-up (exit code ${exit.code}, signal ${exit.signal}). ${tail()}`);
    if (Date.now() - started > timeoutMs) {
      throw new ServicesError(
        `${title} did not become healthy within ${Math.round(timeoutMs / 1000)} s (on a slow machine, allow more time with --timeout). ${tail()}`,
      );
    }
    await sleep(250);
  }
}

/**
 * Starts Kafka and QuestDB for `opts.stateDir` on free (or the given) loopback ports, waits until both are
 * healthy and writes `<stateDir>/services.json`. Idempotent: if the recorded pair is still running it is
 * returned as is. On any failure everything already started is stopped again, and the thrown
 * {@link ServicesError} says what to do.
 * @example const { state } = await startServices({ stateDir: '/tmp/x', log: (l) => console.error(l) });
 */
export async function startServices(opts: StartServicesOptions = {}): Promise<StartServicesResult> {
  const log = opts.log ?? (() => {});
  await mkdir(resolve(opts.stateDir ?? DEFAULT_STATE_DIR), { recursive: true });
  const stateDir = resolveStateDir(opts.stateDir ?? DEFAULT_STATE_DIR);
  const stateFile = servicesStatePath(stateDir);
  let existing: ServicesState | null = null;
  try {
    existing = readServicesState(stateDir);
  } catch (err) {
    log(`ignoring ${(err as Error).message}`);
  }
  if (existing && SERVICES.every((s) => isServiceProcess(existing[s].pid, { service: s, stateDir }))) {
    return { state: existing, stateFile, alreadyRunning: true };
  }
  // One of a recorded pair stopped (`services stop --only`, a crash): bring it back on its recorded
  // addresses, so every client configured from services.json reconnects.
  const alive = existing ? SERVICES.filter((s) => runningPid(s, stateDir, existing) !== null) : [];
  if (existing && alive.length > 0) {
    for (const s of SERVICES.filter((s) => !alive.includes(s))) {
      log(`${s} is not running; starting it again on its recorded ports…`);
      await startService(stateDir, s, { ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}), log });
    }
    return { state: readServicesState(stateDir)!, stateFile, alreadyRunning: false };
  }
  const leftovers = await stopRecorded(stateDir, existing);
  for (const { service, pid } of leftovers) log(`stopped a leftover ${service} (pid ${pid}) of an earlier start`);
  await removeServicesState(stateDir);

  const java = await findJava();
  const [kafkaPort, controllerPort, httpPort, pgPort, ilpPort, httpMinPort] = (await choosePorts([
    { purpose: 'Kafka', option: '--kafka-port', port: opts.kafkaPort },
    { purpose: 'the Kafka controller' },
    { purpose: 'QuestDB HTTP', option: '--questdb-http-port', port: opts.questdbHttpPort },
    { purpose: 'QuestDB PG wire', option: '--questdb-pg-port', port: opts.questdbPgPort },
    { purpose: 'QuestDB ILP/TCP', option: '--questdb-ilp-port', port: opts.questdbIlpPort },
    { purpose: 'QuestDB min HTTP' },
  ])) as [number, number, number, number, number, number];
  const artifacts = await ensureArtifacts(opts.cacheDir ?? defaultCacheDir(), log);

  const timeoutMs = opts.timeoutMs ?? 60_000;
  const kafkaFiles = kafkaPaths(stateDir);
  const questdbFiles = questdbPaths(stateDir);
  const began = Date.now();
  log(`starting Kafka ${KAFKA_VERSION} and QuestDB ${QUESTDB_VERSION} in ${stateDir}…`);
  try {
    const [kafka, questdb] = await settleAll([
      startKafka({ java: java.bin, libDir: artifacts.kafkaLibDir, stateDir, port: kafkaPort, controllerPort }),
      startQuestdb({
        java: java.bin,
        jar: artifacts.questdbJar,
        stateDir,
        ports: { http: httpPort, pg: pgPort, ilpTcp: ilpPort, httpMin: httpMinPort },
      }),
    ]);
    const broker = `${LOOPBACK}:${kafkaPort}`;
    const http = `${LOOPBACK}:${httpPort}`;
    const pg = `${LOOPBACK}:${pgPort}`;
    await settleAll([
      waitHealthy('Kafka', kafka, kafkaFiles.logFile, () => probeKafka(broker), timeoutMs).then((ms) =>
        log(`kafka is healthy (${(ms / 1000).toFixed(1)} s)`),
      ),
      waitHealthy('QuestDB', questdb, questdbFiles.logFile, async () => (await probeQuestdb(http)) && (await probeQuestdbPg(pg)), timeoutMs).then(
        (ms) => log(`questdb is healthy (${(ms / 1000).toFixed(1)} s)`),
      ),
    ]);
    const state: ServicesState = {
      version: 1,
      startedAt: new Date().toISOString(),
      kafka: { brokers: [broker], pid: kafka.pid, logFile: kafkaFiles.logFile, dataDir: kafkaFiles.dataDir },
      questdb: {
        http,
        pg,
        ilpTcp: `${LOOPBACK}:${ilpPort}`,
        user: QUESTDB_ADMIN.user,
        password: QUESTDB_ADMIN.password,
        readonlyUser: QUESTDB_READONLY.user,
        readonlyPassword: QUESTDB_READONLY.password,
        pid: questdb.pid,
        logFile: questdbFiles.logFile,
        dataDir: questdbFiles.dataDir,
      },
    };
    await writeServicesState(stateDir, state);
    log(`services are up after ${((Date.now() - began) / 1000).toFixed(1)} s; state in ${stateFile}`);
    return { state, stateFile, alreadyRunning: false };
  } catch (err) {
    log('start-up failed; stopping what was already started…');
    await stopRecorded(stateDir, null).catch((e: Error) => log(`could not stop everything: ${e.message}`));
    throw err;
  }
}

/** Like Promise.all, but waits for every promise before rejecting with the first error (messages joined). */
async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ServicesError(errors.map((e) => e.message).join('\n\n'));
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Result of {@link stopServices}. */
export interface StopServicesResult {
  /** The processes that were running and are now gone; empty if nothing was running. */
  stopped: { service: 'kafka' | 'questdb'; pid: number }[];
  /** True if the services' data directories were deleted. */
  purged: boolean;
}

/**
 * Stops the pair of `stateDir` (SIGTERM to each process group, then SIGKILL after a grace period), checks
 * that none of their processes is left, and removes the state file. Data stays unless `purge` is set.
 * Safe to call when nothing runs.
 */
export async function stopServices(stateDir: string, opts: { purge?: boolean; only?: OneService } = {}): Promise<StopServicesResult> {
  const dir = resolveStateDir(stateDir);
  if (opts.only) {
    // services.json stays, so `services start` brings this one back on the same addresses.
    const pid = await stopService(dir, opts.only);
    return { stopped: pid === null ? [] : [{ service: opts.only, pid }], purged: false };
  }
  let state: ServicesState | null = null;
  try {
    state = readServicesState(dir);
  } catch {
    // A damaged state file: the pid files still say what to stop.
  }
  const stopped = await stopRecorded(dir, state);
  await removeServicesState(dir);
  if (opts.purge) {
    await rm(kafkaPaths(dir).home, { recursive: true, force: true });
    await rm(questdbPaths(dir).home, { recursive: true, force: true });
  }
  return { stopped, purged: opts.purge === true };
}
