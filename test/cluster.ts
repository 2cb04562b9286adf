/**
 * The cluster-path parts most integration tests need, on the run's real Kafka and QuestDB: a Kafka
 * bus, a QuestDB store (user SQL as the read-only user) and an admin PG connection for checks.
 */
import type pg from 'pg';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { questdbClient, testServices } from './services.js';

export interface KafkaQuestDb {
  bus: KafkaBus;
  store: QuestDbStore;
  db: pg.Client;
}

/** Starts the three (call from beforeAll); `closeKafkaQuestDb` undoes it. */
export async function openKafkaQuestDb(partitions = 3): Promise<KafkaQuestDb> {
  const s = testServices();
  const bus = new KafkaBus({ brokers: s.kafka.brokers, partitions });
  await bus.start();
  const store = new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg, readonlyUser: s.questdb.readonlyUser, readonlyPassword: s.questdb.readonlyPassword });
  await store.start();
  return { bus, store, db: await questdbClient(s) };
}

/** Safe with parts that never started (a failed beforeAll). */
export async function closeKafkaQuestDb(c: Partial<KafkaQuestDb>): Promise<void> {
  await c.db?.end();
  await c.store?.shutdown();
  await c.bus?.shutdown();
}
