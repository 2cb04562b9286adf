// One service of a running pair, stopped or started on its own, on the ports recorded in services.json.
// Used by `isoscope services stop --only kafka` / `services start` (which brings a stopped one back) and by
// the fault-injection tests, which take the broker or the database away mid-stream and expect every
// client configured with the recorded addresses to reconnect.
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkaPaths, probeKafka, startKafka } from './kafka.js';
import { defaultCacheDir, ensureArtifacts } from './maven.js';
import { freePorts, portOf } from './ports.js';
import { findJava, isServiceProcess, readPidFile, ServicesError, stopProcessGroup, tailFile } from './process.js';
import { probeQuestdb, probeQuestdbPg, questdbPaths, startQuestdb } from './questdb.js';
import { readServicesState, resolveStateDir, writeServicesState, type ServicesState } from './state.js';

export const SERVICE_NAMES = ['kafka', 'questdb'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

function pidFileOf(service: ServiceName, stateDir: string): string {
  return service === 'kafka' ? kafkaPaths(stateDir).pidFile : questdbPaths(stateDir).pidFile;
}

/** The live pid of `service` in `stateDir`, or null. */
export function runningPid(service: ServiceName, stateDir: string, state: ServicesState | null): number | null {
  for (const pid of new Set([state?.[service].pid, readPidFile(pidFileOf(service, stateDir))])) {
    if (pid !== undefined && pid !== null && isServiceProcess(pid, { service, stateDir })) return pid;
  }
  return null;
}

function requireState(dir: string): ServicesState {
  const state = readServicesState(dir);
  if (!state) throw new ServicesError(`no services were started for ${dir} (no services.json); run \`isoscope services start\` first`);
  return state;
}

/**
 * Stops one service (SIGTERM, then SIGKILL after `graceMs`) and keeps services.json, so that
 * {@link startService} brings it back on the same addresses. Returns the pid stopped, or null if it was
 * not running.
 */
export async function stopService(stateDir: string, service: ServiceName, graceMs = 20_000): Promise<number | null> {
  const dir = resolveStateDir(stateDir);
  const pid = runningPid(service, dir, requireState(dir));
  if (pid !== null) await stopProcessGroup(pid, graceMs);
  return pid;
}

/**
 * Starts one service of a recorded pair again on the ports in services.json (its data kept), waits until
 * it is healthy and records its new pid. Does nothing if it runs.
 */
export async function startService(
  stateDir: string,
  service: ServiceName,
  opts: { timeoutMs?: number; cacheDir?: string; log?: (line: string) => void } = {},
): Promise<number> {
  const dir = resolveStateDir(stateDir);
  const state = requireState(dir);
  const running = runningPid(service, dir, state);
  if (running !== null) return running;
  const java = await findJava();
  const artifacts = await ensureArtifacts(opts.cacheDir ?? defaultCacheDir(), opts.log ?? (() => {}));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const began = Date.now();
  let pid: number;
  let healthy: () => Promise<boolean>;
  let logFile: string;
  if (service === 'kafka') {
    const [controllerPort] = (await freePorts(1)) as [number];
    const spawned = await startKafka({ java: java.bin, libDir: artifacts.kafkaLibDir, stateDir: dir, port: portOf(state.kafka.brokers[0]!), controllerPort });
    pid = spawned.pid;
    logFile = kafkaPaths(dir).logFile;
    healthy = () => probeKafka(state.kafka.brokers[0]!);
  } else {
    const [httpMin] = (await freePorts(1)) as [number];
    const q = state.questdb;
    const spawned = await startQuestdb({
      java: java.bin,
      jar: artifacts.questdbJar,
      stateDir: dir,
      ports: { http: portOf(q.http), pg: portOf(q.pg), ilpTcp: portOf(q.ilpTcp), httpMin },
    });
    pid = spawned.pid;
    logFile = questdbPaths(dir).logFile;
    healthy = async () => (await probeQuestdb(q.http)) && (await probeQuestdbPg(q.pg));
  }
  while (!(await healthy())) {
    if (!isServiceProcess(pid, { service, stateDir: dir })) {
      throw new ServicesError(`${service} exited while restarting on its recorded ports. Last lines of ${logFile}:\n${tailFile(logFile, 20)}`);
    }
    if (Date.now() - began > timeoutMs) {
      throw new ServicesError(`${service} did not become healthy within ${Math.round(timeoutMs / 1000)} s. Last lines of ${logFile}:\n${tailFile(logFile, 20)}`);
    }
    await sleep(250);
  }
  // Re-read: the other service may have been restarted concurrently.
  const latest = readServicesState(dir) ?? state;
  await writeServicesState(dir, { ...latest, [service]: { ...latest[service], pid } });
  opts.log?.(`${service} is healthy again after ${((Date.now() - began) / 1000).toFixed(1)} s (pid ${pid})`);
  return pid;
}
