/**
 * Builds the configured Bus and Store. The only place that chooses between the cluster parts
 * (Kafka, QuestDB) and the embedded ones (durable local log, DuckDB): everything else sees the
 * interfaces. Implementations are imported on demand, so a Kafka collector never loads DuckDB's
 * native library.
 */
import { join } from 'node:path';
import type { Bus } from '../bus/bus.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Store } from '../store/store.js';

export async function createBus(config: ResolvedConfig): Promise<Bus> {
  if (config.busKind === 'kafka') {
    const { KafkaBus } = await import('../bus/kafka/kafka-bus.js');
    return new KafkaBus({ brokers: config.kafkaBrokers, clientId: config.kafka.clientId, partitions: config.kafka.partitions, compression: config.kafka.compression, sessionTimeoutMs: config.kafka.sessionTimeoutMs });
  }
  const { EmbeddedBus } = await import('../bus/embedded/embedded-bus.js');
  return new EmbeddedBus({ dir: embeddedBusDir(config) });
}

export async function createStore(config: ResolvedConfig): Promise<Store> {
  if (config.storeKind === 'questdb') {
    const { QuestDbStore } = await import('../store/questdb/questdb-store.js');
    return new QuestDbStore({
      http: config.questdbHttp,
      pg: config.questdbPg,
      user: config.questdb.user,
      password: config.questdb.password,
      readonlyUser: config.questdbReadonlyUser,
      readonlyPassword: config.questdbReadonlyPassword,
      createTables: config.questdb.createTables,
    });
  }
  const { DuckDbStore } = await import('../store/duckdb/duckdb-store.js');
  return new DuckDbStore({ path: duckdbPath(config) });
}

export const embeddedBusDir = (config: ResolvedConfig) => join(config.dataDir, 'bus');
export const duckdbPath = (config: ResolvedConfig) => join(config.dataDir, 'isoscope.duckdb');

/** One line saying where data goes, for start-up banners. */
export function describeTargets(config: ResolvedConfig): string {
  const bus = config.busKind === 'kafka' ? `Kafka at ${config.kafkaBrokers.join(',')}` : `the embedded bus in ${embeddedBusDir(config)}`;
  const store = config.storeKind === 'questdb' ? `QuestDB at ${config.questdbHttp} (PG ${config.questdbPg})` : `DuckDB in ${duckdbPath(config)}`;
  return `bus: ${bus}; store: ${store}`;
}
