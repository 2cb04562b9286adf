// `isoscope services status`: probes every endpoint of a recorded pair for real (a live pid is not enough:
// a JVM can run and still not answer). Kept apart from manager.ts, which starts and stops the pair.
import { probeKafka } from './kafka.js';
import { isPortOpen, portOf } from './ports.js';
import { isServiceProcess } from './process.js';
import { probeQuestdb, probeQuestdbPg } from './questdb.js';
import { readServicesState, resolveStateDir, servicesStatePath, type ServicesState } from './state.js';

/** Health of one endpoint, as `status` reports it. */
export interface ServiceStatus {
  name: 'kafka' | 'questdb-http' | 'questdb-pg' | 'questdb-ilp';
  address: string;
  up: boolean;
  /** Why it is down. */
  reason?: string;
}

/** Result of {@link servicesStatus}. */
export interface ServicesStatusReport {
  stateFile: string;
  /** `null` if no state file exists (nothing was started). */
  state: ServicesState | null;
  services: ServiceStatus[];
  /** True if a state file exists and every endpoint answered its probe. */
  allUp: boolean;
}

/**
 * Probes every endpoint recorded in `<stateDir>/services.json` for real: Kafka with describeCluster(),
 * QuestDB HTTP with `select 1`, PG with a login and `select 1`, ILP with a TCP connect.
 * Throws if the state file is damaged.
 */
export async function servicesStatus(stateDir: string): Promise<ServicesStatusReport> {
  const dir = resolveStateDir(stateDir);
  const stateFile = servicesStatePath(dir);
  const state = readServicesState(dir);
  if (!state) return { stateFile, state, services: [], allUp: false };
  const check = async (name: ServiceStatus['name'], address: string, service: 'kafka' | 'questdb', probe: () => Promise<boolean>): Promise<ServiceStatus> => {
    const pid = state[service].pid;
    if (!isServiceProcess(pid, { service, stateDir: dir })) return { name, address, up: false, reason: `process ${pid} is not running` };
    return (await probe()) ? { name, address, up: true } : { name, address, up: false, reason: 'does not answer' };
  };
  const q = state.questdb;
  const services = await Promise.all([
    ...state.kafka.brokers.map((b) => check('kafka', b, 'kafka', () => probeKafka(b))),
    check('questdb-http', q.http, 'questdb', () => probeQuestdb(q.http)),
    check('questdb-pg', q.pg, 'questdb', () => probeQuestdbPg(q.pg, { user: q.user, password: q.password })),
    check('questdb-ilp', q.ilpTcp, 'questdb', () => isPortOpen(portOf(q.ilpTcp))),
  ]);
  return { stateFile, state, services, allUp: services.every((s) => s.up) };
}
