/**
 * The cluster path's throughput: rows/s from Kafka through `Ingest` into QuestDB, against the raw
 * rate of the same rows sent straight to QuestDB over ILP/HTTP in the same run (the ceiling the
 * pipeline is judged by). Starts its own Kafka and QuestDB in a temporary directory (or uses those of
 * --state-dir DIR / $ISOSCOPE_BENCH_STATE_DIR).
 *
 *   npm run build && node dist/bench/pipeline.bench.js [--samples 400000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sender } from '@questdb/nodejs-client';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import { encode, validate } from '../schema/codec.js';
import type { Sample } from '../schema/records.js';
import { startServices, stopServices } from '../services/manager.js';
import { readServicesState, type ServicesState } from '../services/state.js';
import { appendRows } from '../store/questdb/ilp-rows.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';

const BATCH = 500;
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

function batches(collector: string, total: number): Sample[][] {
  const out: Sample[][] = [];
  for (let seq = 0; seq * BATCH < total; seq++) {
    const ts = 1_795_000_000_000_000_000n + BigInt(seq) * 1_000_000_000n;
    out.push(validate('samples', Array.from({ length: BATCH }, (_, idx) => ({
      ts, node: `node-${seq % 16}`, collector, seq, idx, source: 'perf', metric: ['cycles', 'instructions', 'cache-misses', 'context-switches'][idx % 4]!, value: seq + idx, cpu: idx % 64,
    }))));
  }
  return out;
}

async function services(): Promise<{ state: ServicesState; stop: () => Promise<void> }> {
  const given = arg('--state-dir') ?? process.env.ISOSCOPE_BENCH_STATE_DIR;
  if (given) {
    const state = readServicesState(given);
    if (!state) throw new Error(`no services.json in ${given}: run \`isoscope services start --state-dir ${given}\``);
    return { state, stop: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'isoscope-bench-'));
  const { state } = await startServices({ stateDir: dir, log: (l) => process.stderr.write(`[services] ${l}\n`) });
  return { state, stop: async () => { await stopServices(dir, { purge: true }); await rm(dir, { recursive: true, force: true }); } };
}

async function rawIlp(s: ServicesState, data: Sample[][]): Promise<number> {
  const sender = await Sender.fromConfig(`http::addr=${s.questdb.http};auto_flush=off;protocol_version=2`);
  const t0 = performance.now();
  for (const b of data) {
    await appendRows(sender, 'samples', b as never);
    await sender.flush();
  }
  const secs = (performance.now() - t0) / 1000;
  await sender.close();
  return (data.length * BATCH) / secs;
}

export async function main(): Promise<void> {
  const total = Number(arg('--samples') ?? 400_000);
  const { state, stop } = await services();
  try {
    const store = new QuestDbStore({ http: state.questdb.http, pg: state.questdb.pg });
    await store.start();
    const raw = await rawIlp(state, batches(`raw-${Date.now()}`, total));

    const bus = new KafkaBus({ brokers: state.kafka.brokers, partitions: 6 });
    await bus.start();
    await bus.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
    const producer = bus.producer();
    const data = batches(`pipe-${Date.now()}`, total);
    const tp = performance.now();
    for (let i = 0; i < data.length; i += 20) {
      await producer.send('samples', data.slice(i, i + 20).map((b) => ({ key: b[0]!.node, value: encode('samples', b) })));
    }
    const produceRate = total / ((performance.now() - tp) / 1000);
    await producer.shutdown();

    const ingest = new Ingest(bus, store, { group: `bench-${Date.now()}`, topics: ['samples'] });
    const t0 = performance.now();
    await ingest.start();
    await ingest.waitUntilIdle(0, 50);
    const rate = ingest.stats.records.samples / ((performance.now() - t0) / 1000);
    await ingest.shutdown();
    await store.shutdown();
    await bus.shutdown();

    console.log(`pipeline: ${total} samples in batches of ${BATCH}, 2-core machine, Kafka + QuestDB on loopback`);
    console.log(`  raw ILP/HTTP to QuestDB (ceiling)     ${Math.round(raw).toLocaleString('en')} rows/s`);
    console.log(`  producer to Kafka (encode + send)     ${Math.round(produceRate).toLocaleString('en')} samples/s`);
    console.log(`  ingest Kafka → QuestDB (incl. join)   ${Math.round(rate).toLocaleString('en')} rows/s = ${((rate / raw) * 100).toFixed(0)}% of raw ILP`);
  } finally {
    await stop();
  }
}

await main();
