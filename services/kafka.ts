// One Kafka broker in KRaft mode (broker and controller in a single JVM) on loopback, for development and
// integration tests: writes its server.properties, formats its storage on first start, spawns it, and
// probes it the way a client would (TCP, then a kafkajs admin describeCluster()).
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { isPortOpen, LOOPBACK, portOf } from './ports.js';
import { identityArgs, runCommand, ServicesError, spawnService, type SpawnedService } from './process.js';

/** Where one Kafka keeps its files under the state directory. */
export interface KafkaPaths {
  /** `<stateDir>/kafka`: everything of this Kafka. */
  home: string;
  /** `<stateDir>/kafka/data`: Kafka's `log.dirs` (topics and the KRaft metadata log). */
  dataDir: string;
  propertiesFile: string;
  /** stdout and stderr of the JVM. */
  logFile: string;
  pidFile: string;
}

/** Paths of the Kafka that belongs to `stateDir` (absolute). */
export function kafkaPaths(stateDir: string): KafkaPaths {
  const home = join(stateDir, 'kafka');
  return {
    home,
    dataDir: join(home, 'data'),
    propertiesFile: join(home, 'server.properties'),
    logFile: join(home, 'kafka.log'),
    pidFile: join(home, 'kafka.pid'),
  };
}

/** Broker settings for a single-node KRaft cluster; small internal topics so the first consumer group is quick. */
function serverProperties(paths: KafkaPaths, port: number, controllerPort: number): string {
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${LOOPBACK}:${controllerPort}`,
    listeners: `PLAINTEXT://${LOOPBACK}:${port},CONTROLLER://${LOOPBACK}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${LOOPBACK}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': paths.dataDir,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'true',
    'num.partitions': 1,
  };
  const lines = Object.entries(props).map(([k, v]) => `${k}=${String(v).replace(/\\/g, '\\\\')}`);
  return `# Written by isoscope services (services/kafka.ts); rewritten on every start.\n${lines.join('\n')}\n`;
}

/**
 * A random KRaft cluster id: 16 bytes in unpadded base64url (22 characters), as `kafka-storage
 * random-uuid` makes. Like Kafka's own Uuid, it never starts with '-': the storage tool's argument
 * parser would take such an id for an option (1 start in 64 failed that way before).
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Formats the storage directory once; a directory that already has meta.properties keeps its cluster id. */
async function formatStorage(java: string, classPath: string, paths: KafkaPaths): Promise<void> {
  if (existsSync(join(paths.dataDir, 'meta.properties'))) return;
  const res = await runCommand(
    java,
    ['-Xmx256m', '-cp', classPath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', paths.propertiesFile, '--ignore-formatted'],
    { timeoutMs: 120_000 },
  );
  appendFileSync(paths.logFile, `--- kafka-storage format (exit ${res.code}) ---\n${res.output}\n`);
  if (res.code !== 0) {
    const tail = res.output.trimEnd().split('\n').slice(-20).join('\n');
    throw new ServicesError(`formatting Kafka's storage in ${paths.dataDir} failed (exit ${res.code}):\n${tail}`);
  }
}

/** What {@link startKafka} needs. */
export interface KafkaStartOptions {
  java: string;
  /** Directory with the Kafka jars (from services/maven.ts). */
  libDir: string;
  /** Absolute state directory. */
  stateDir: string;
  /** Client (PLAINTEXT) port. */
  port: number;
  /** KRaft controller port. */
  controllerPort: number;
}

/**
 * Writes the configuration, formats storage if new, and spawns Kafka detached; returns as soon as the JVM
 * runs (use {@link probeKafka} to wait for it). The pid goes to `<stateDir>/kafka/kafka.pid`.
 */
export async function startKafka(opts: KafkaStartOptions): Promise<SpawnedService> {
  const paths = kafkaPaths(opts.stateDir);
  await mkdir(paths.dataDir, { recursive: true });
  await writeFile(paths.propertiesFile, serverProperties(paths, opts.port, opts.controllerPort));
  appendFileSync(paths.logFile, `--- isoscope services: starting Kafka on ${LOOPBACK}:${opts.port} at ${new Date().toISOString()} ---\n`);
  const classPath = `${join(opts.libDir, '*')}`;
  await formatStorage(opts.java, classPath, paths);
  const spawned = spawnService({
    java: opts.java,
    args: [
      '-Xmx512m',
      ...identityArgs({ service: 'kafka', stateDir: opts.stateDir }),
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
      '-cp',
      classPath,
      'kafka.Kafka',
      paths.propertiesFile,
    ],
    env: {},
    cwd: paths.home,
    logFile: paths.logFile,
  });
  await writeFile(paths.pidFile, `${spawned.pid}\n`);
  return spawned;
}

/**
 * True if the broker at `broker` ("127.0.0.1:port") accepts TCP connections and answers a kafkajs admin
 * `describeCluster()` with at least one broker.
 * @default timeoutMs 3000
 */
export async function probeKafka(broker: string, timeoutMs = 3000): Promise<boolean> {
  if (!(await isPortOpen(portOf(broker), broker.slice(0, broker.lastIndexOf(':')), timeoutMs))) return false;
  const admin = new Kafka({
    clientId: 'isoscope-services-probe',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
