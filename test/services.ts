/**
 * The real Kafka and QuestDB started for this test run by test/global-setup.ts, for integration
 * tests. Without them (ISOSCOPE_TEST_NO_SERVICES=1) an integration test fails saying why; it never
 * passes silently.
 */
import pg from 'pg';
import { inject } from 'vitest';
import type { ServicesState } from '../services/state.js';

// `inject('services')` is typed by the ProvidedContext declaration in test/global-setup.ts.
export function testServices(): ServicesState {
  const services = inject('services') as ServicesState | undefined; // undefined without the global setup
  if (!services) {
    throw new Error('this integration test needs the real Kafka and QuestDB of test/global-setup.ts; run it without ISOSCOPE_TEST_NO_SERVICES');
  }
  return services;
}

/** Environment that points isoscope commands at the test services. */
export function servicesEnv(s: ServicesState): Record<string, string> {
  return {
    ISOSCOPE_KAFKA_BROKERS: s.kafka.brokers.join(','),
    ISOSCOPE_QUESTDB_HTTP: s.questdb.http,
    ISOSCOPE_QUESTDB_PG: s.questdb.pg,
    ISOSCOPE_QUESTDB_READONLY_USER: s.questdb.readonlyUser,
    ISOSCOPE_QUESTDB_READONLY_PASSWORD: s.questdb.readonlyPassword,
  };
}

/** An admin PG connection to the test QuestDB (the caller ends it). */
export async function questdbClient(s: ServicesState): Promise<pg.Client> {
  const [host, port] = s.questdb.pg.split(':');
  const client = new pg.Client({ host, port: Number(port), user: s.questdb.user, password: s.questdb.password, database: 'qdb' });
  await client.connect();
  return client;
}

/**
 * Polls `probe` until `done` accepts its result or the deadline passes (QuestDB applies WAL writes
 * asynchronously, so a just-written row becomes visible a moment later). Returns the last result.
 */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, deadlineMs = 30_000, everyMs = 200): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
