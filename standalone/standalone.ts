/**
 * Everything in one process, as `isoscope up` (and `npm start`) runs it: collector → bus → ingest →
 * store, plus the query service. With the embedded bus and DuckDB this is the laptop/single-node
 * mode; with Kafka and QuestDB configured the same composition runs against them.
 */
import { join } from 'node:path';
import type { Bus, BusProducer } from '../bus/bus.js';
import { CollectorAgent } from '../collectors/agent.js';
import { buildSources } from '../collectors/build.js';
import type { SourceName } from '../collectors/registry.js';
import { SequenceFile } from '../collectors/sequence.js';
import { Ingest } from '../ingest/ingest.js';
import { createQueryApp } from '../query/app.js';
import { QueryServer } from '../query/server.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { Store } from '../store/store.js';

export interface StandaloneOptions {
  bus: Bus;
  store: Store;
  node: string;
  dataDir: string;
  sources: readonly string[];
  /** Options per source (config collector.<name>). */
  sourceOptions?: Partial<Record<SourceName, unknown>>;
  intervalMs: number;
  ingestGroup: string;
  /** How long samples wait for late run/partition records (config ingest.watermarkMs). */
  watermarkMs?: number;
  listen: string;
  token?: string | undefined;
}

export class Standalone implements Lifecycle {
  private producer: BusProducer | null = null;
  private collector: CollectorAgent | null = null;
  private ingest: Ingest | null = null;
  private server: QueryServer | null = null;
  readonly collectorId: string;

  constructor(private readonly o: StandaloneOptions) {
    this.collectorId = `${o.node}/${o.sources.join('+')}`;
  }

  get queryUrl(): string {
    return this.server?.url ?? '';
  }

  async start(): Promise<void> {
    const { bus, store } = this.o;
    await bus.start();
    await store.start();
    this.producer = bus.producer();
    await this.producer.start();
    // Query (and the HTTP entry for remote collectors) before ingest: if its port is taken, fail early.
    this.server = new QueryServer(createQueryApp({ store, token: this.o.token, busProducer: this.producer }), this.o.listen);
    await this.server.start();
    this.ingest = new Ingest(bus, store, { group: this.o.ingestGroup, ...(this.o.watermarkMs !== undefined ? { watermarkMs: this.o.watermarkMs } : {}) });
    await this.ingest.start();
    const stateDir = join(this.o.dataDir, 'collector');
    this.collector = new CollectorAgent({
      node: this.o.node,
      collectorId: this.collectorId,
      ...buildSources(this.o.sources, this.o.sourceOptions ?? {}, { stateDir }),
      intervalMs: this.o.intervalMs,
      producer: this.producer,
      sequence: SequenceFile.forCollector(stateDir, this.collectorId),
      eventSequence: SequenceFile.forCollector(stateDir, this.collectorId, 'events'),
    });
    await this.collector.start();
  }

  /** Resolves when ingest stops (it only stops by itself on failure). */
  stopped(): Promise<void> {
    return this.ingest?.stopped() ?? Promise.resolve();
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    // Upstream first, so what the collector still holds is sent and ingested before the store closes.
    await this.collector?.shutdown(deadlineMs);
    await this.producer?.shutdown(deadlineMs);
    if (this.ingest) await this.ingest.waitUntilIdle(0, 100).catch(() => undefined);
    await this.ingest?.shutdown(deadlineMs);
    await this.server?.shutdown(deadlineMs);
    await this.o.store.shutdown(deadlineMs);
    await this.o.bus.shutdown(deadlineMs);
  }
}
