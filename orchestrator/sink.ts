/**
 * Where the orchestrator's records go. Kafka when configured; otherwise the embedded bus, and then,
 * so that `isoscope sql` sees the runs at once, an in-process ingest into DuckDB that drains before
 * the command exits. While `isoscope up` runs it owns the embedded bus and DuckDB, so records are
 * posted to it (`POST /api/bus/:topic`, its query.token) instead.
 */
import type { Bus, BusProducer } from '../bus/bus.js';
import type { ResolvedConfig } from '../config/load.js';
import { UserError } from '../core/errors.js';
import { readUpState } from '../standalone/up-state.js';
import type { Store } from '../store/store.js';
import { Ingest } from '../ingest/ingest.js';
import { createBus, createStore, describeTargets } from '../wiring/wiring.js';

export interface RecordSink {
  producer: BusProducer;
  /** Where the records went, for the banner. */
  describe: string;
  /** The bus the records go to; null when they are posted to a running `isoscope up`. */
  bus: Bus | null;
  /** The store the in-process ingest writes (embedded bus only), else null. */
  store: Store | null;
  /** Waits until the in-process ingest (embedded bus) wrote everything sent so far; no-op otherwise. */
  drain(): Promise<void>;
  /** Flushes, drains the in-process ingest if any, and closes everything. */
  close(): Promise<void>;
}

export async function openRecordSink(config: ResolvedConfig): Promise<RecordSink> {
  if (config.busKind === 'embedded') {
    const up = readUpState(config.stateDir);
    if (up && up.dataDir === config.dataDir) {
      if (!config.query.token) throw new UserError(`isoscope up is running (${up.url}) and owns the embedded bus; set query.token (ISOSCOPE_QUERY_TOKEN) to the token it uses so the orchestrator can post its records to it`);
      const { HttpProducer } = await import('../bus/http/http-producer.js');
      const producer = new HttpProducer({ url: up.url, token: config.query.token });
      return { producer, describe: `the running isoscope up at ${up.url}`, bus: null, store: null, drain: async () => {}, close: () => producer.shutdown() };
    }
  }
  const bus: Bus = await createBus(config);
  await bus.start();
  await bus.ensureTopics(['runs', 'partitions', 'events']);
  const producer = bus.producer();
  await producer.start();
  let ingest: Ingest | null = null;
  let store: Store | null = null;
  if (bus.kind === 'embedded') {
    store = await createStore(config);
    await store.start();
    ingest = new Ingest(bus, store, { group: config.ingest.group, watermarkMs: config.ingest.watermarkMs });
    await ingest.start();
  }
  return {
    producer,
    describe: describeTargets(config),
    bus,
    store,
    async drain() {
      await ingest?.waitUntilIdle(0, 100).catch(() => undefined);
    },
    async close() {
      await producer.shutdown();
      if (ingest) {
        await ingest.waitUntilIdle(0, 100).catch(() => undefined);
        await ingest.shutdown();
      }
      await store?.shutdown();
      await bus.shutdown();
    },
  };
}
