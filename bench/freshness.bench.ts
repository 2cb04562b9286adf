/**
 * Freshness: from a sample's `ts` to the moment a query sees it, through the real path (Kafka →
 * ingest → QuestDB), at a steady rate, once with tagging's watermark at 0 and once at the default
 * (3 s). Collector-shaped producers in this process send one message of `--per-message` samples
 * per collector every 100 ms, stamped with the time of sending (as a collector stamps the end of
 * its interval and sends); an `Ingest` in this process (its own group, from the topic's end)
 * writes them; a poller asks QuestDB every 50 ms for timestamps it has not seen yet. Each
 * message's latency is (first seen − ts); the first 2 s are warm-up and not counted. The poll
 * interval and the query's own time are part of every figure, so the figures are upper bounds.
 *
 *   npm run build && node dist/bench/freshness.bench.js [--seconds 20] [--collectors 10]
 *     [--per-message 50] [--partitions-in-flight N] [--watermarks 0,3000] [--repeat 1] [--state-dir DIR]
 *
 * Goals (issue 16): p99 ≤ 1 s with the watermark at 0; p50 ≤ watermark + 0.5 s with it.
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import { DEFAULT_PARTITIONS_IN_FLIGHT, DEFAULT_WATERMARK_MS } from '../ingest/config.js';
import type { BatchHandler, ConsumerOptions } from '../bus/bus.js';
import { decode, encode, validate } from '../schema/codec.js';
import { toRecords } from '../schema/column-batch.js';
import type { ServicesState } from '../services/state.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { arg, benchServices } from './services.js';

const TICK_MS = 100;
const POLL_MS = 50;
const WARM_UP_MS = 2000;

/** The stages of a message's way, each measured from the end of the one before. */
const STAGES = ['on Kafka', 'delivered', 'write start', 'acked', 'visible'] as const;
const STAGE_MEANING: Record<(typeof STAGES)[number], string> = {
  'on Kafka': 'ts → the producer\'s send acknowledged (acks=all)',
  delivered: 'Kafka → handed to ingest\'s handler (fetch)',
  'write start': 'handler → store write begins (watermark, control feed caught up, work slot)',
  acked: 'write → QuestDB acknowledged (WAL commit)',
  visible: 'ack → first seen by the 50 ms poll (WAL apply + poll + query)',
};

interface Figures {
  p50: number;
  p99: number;
  max: number;
  n: number;
  expected: number;
  /** ts → QuestDB acknowledged the write (before its WAL is applied and the rows visible). */
  ackP50: number;
  ackP99: number;
  /** Per stage: p50 and p99 of its own duration, and its mean over the slowest 1 % of messages. */
  stages: { stage: (typeof STAGES)[number]; p50: number; p99: number; tailMean: number }[];
}

async function measure(s: ServicesState, db: pg.Client, watermarkMs: number, o: { seconds: number; collectors: number; perMessage: number; inFlight: number }): Promise<Figures> {
  const prefix = `fresh${Date.now().toString(36)}`;
  const bus = new KafkaBus({ brokers: s.kafka.brokers, partitions: 6 });
  const store = new QuestDbStore({ http: s.questdb.http, pg: s.questdb.pg });
  await bus.start();
  await bus.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
  await store.start();
  // When QuestDB acknowledged each message's rows (its WAL has them): splits ingest's share from QuestDB's.
  const acked = new Map<string, number>();
  const write = store.write.bind(store);
  store.write = (async (name, records) => {
    const began = Date.now();
    await write(name, records);
    const now = Date.now();
    if (name === 'samples') for (const r of (Array.isArray(records) ? records : toRecords(records)) as { ts: bigint; idx: number; collector: string }[]) if (r.idx === 0 && r.collector.startsWith(prefix)) { acked.set(r.ts.toString(), now); if (!writeStart.has(r.ts.toString())) writeStart.set(r.ts.toString(), began); }
  }) as typeof store.write;
  // When ingest's handler got each message, and when its store write began.
  const delivered = new Map<string, number>();
  const writeStart = new Map<string, number>();
  const consumer = bus.consumer.bind(bus);
  bus.consumer = (options: ConsumerOptions) => {
    const c = consumer(options);
    if (!options.topics.includes('samples')) return c;
    const run = c.run.bind(c);
    c.run = (handler: BatchHandler) => run((batch) => {
      const now = Date.now();
      if (batch.topic === 'samples') for (const m of batch.messages) if (m.key?.startsWith(prefix)) { const r = decode(m.value, 'samples').records[0]; if (r) delivered.set(r.ts.toString(), now); }
      return handler(batch);
    });
    return c;
  };
  const ingest = new Ingest(bus, store, { group: `bench-${prefix}`, watermarkMs, fromBeginning: false, partitionsInFlight: o.inFlight });
  await ingest.start();
  await new Promise((r) => setTimeout(r, 3000)); // the group has joined and sits at the topic's end
  const producer = bus.producer();
  await producer.start();
  const sent = new Map<string, number>(); // ts (ns, text) → sent at (ms), after the warm-up
  const onKafka = new Map<string, number>(); // ts → the send was acknowledged (ms)
  const seen = new Map<string, number>(); // ts → first seen at (ms)
  const t0 = Date.now();
  const end = t0 + o.seconds * 1000;
  let seq = 0;
  const producing = (async () => {
    for (let next = t0; next < end; next += TICK_MS) {
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      const batch = [];
      for (let c = 0; c < o.collectors; c++) {
        const now = Date.now();
        const ts = BigInt(now) * 1_000_000n + BigInt(c); // distinct per collector
        if (now - t0 >= WARM_UP_MS) sent.set(ts.toString(), now);
        batch.push({ key: `${prefix}-n${c}`, value: encode('samples', validate('samples', Array.from({ length: o.perMessage }, (_, idx) => ({
          ts, node: `${prefix}-n${c}`, collector: `${prefix}-n${c}/perf`, seq, idx, source: 'perf', metric: `m${idx}`, value: idx, cpu: idx % 8,
        })))) });
      }
      seq++;
      await producer.send('samples', batch);
      const now = Date.now();
      for (const b of batch) { const ts = decode(b.value, 'samples').records[0]!.ts.toString(); if (sent.has(ts)) onKafka.set(ts, now); }
    }
  })();
  const deadline = end + watermarkMs + 30_000;
  let done = false;
  void producing.finally(() => (done = true));
  while (Date.now() < deadline) {
    // Only timestamps not seen yet, from the oldest one pending (rows of several partitions land out of order).
    const pending = [...sent.keys()].filter((t) => !seen.has(t)).map((t) => Number(BigInt(t) / 1_000_000n));
    const from = new Date((pending.length ? Math.min(...pending) : Date.now() - 1000) - 1).toISOString();
    const r = await db.query(`SELECT cast(ts AS long) t FROM samples WHERE ts >= '${from}' AND collector LIKE '${prefix}-%' AND idx = 0`);
    const now = Date.now();
    for (const row of r.rows as { t: string }[]) if (!seen.has(row.t)) seen.set(row.t, now);
    if (done && pending.length === 0) break;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
  await producing;
  await producer.shutdown();
  await ingest.shutdown();
  await store.shutdown();
  await bus.shutdown();
  const ms = [...sent.keys()].filter((t) => seen.has(t)).map((t) => seen.get(t)! - Number(BigInt(t) / 1_000_000n)).sort((a, b) => a - b);
  const ack = [...sent.keys()].filter((t) => acked.has(t)).map((t) => acked.get(t)! - Number(BigInt(t) / 1_000_000n)).sort((a, b) => a - b);
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
  // Per message: the moment it reached each stage (only messages with every stage seen).
  const ways = [...sent.keys()].flatMap((t) => {
    const at = [Number(BigInt(t) / 1_000_000n), onKafka.get(t), delivered.get(t), writeStart.get(t), acked.get(t), seen.get(t)];
    return at.every((x) => x !== undefined) ? [at as number[]] : [];
  });
  ways.sort((a, b) => (a[5]! - a[0]!) - (b[5]! - b[0]!));
  const tail = ways.slice(Math.floor(ways.length * 0.99));
  const stages = STAGES.map((stage, k) => {
    const d = ways.map((w) => w[k + 1]! - w[k]!).sort((a, b) => a - b);
    return { stage, p50: q(d, 0.5), p99: q(d, 0.99), tailMean: tail.reduce((sum, w) => sum + w[k + 1]! - w[k]!, 0) / Math.max(1, tail.length) };
  });
  return { p50: q(ms, 0.5), p99: q(ms, 0.99), max: ms[ms.length - 1] ?? NaN, n: ms.length, expected: sent.size, ackP50: q(ack, 0.5), ackP99: q(ack, 0.99), stages };
}

export async function main(): Promise<void> {
  const o = {
    seconds: Number(arg('--seconds') ?? 20),
    collectors: Number(arg('--collectors') ?? 10),
    perMessage: Number(arg('--per-message') ?? 50),
    inFlight: Number(arg('--partitions-in-flight') ?? DEFAULT_PARTITIONS_IN_FLIGHT),
  };
  const repeat = Number(arg('--repeat') ?? 1);
  const watermarks = (arg('--watermarks') ?? `0,${DEFAULT_WATERMARK_MS}`).split(',').map(Number);
  const { state, stop } = await benchServices();
  const [host, port] = state.questdb.pg.split(':');
  const db = new pg.Client({ host, port: Number(port), user: state.questdb.user, password: state.questdb.password, database: 'qdb' });
  await db.connect();
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  try {
    const rate = (o.collectors * o.perMessage * 1000) / TICK_MS;
    console.log(`freshness: sample ts → visible in a QuestDB query, ${fmt(rate)} samples/s (${o.collectors} collectors × ${o.perMessage} samples every ${TICK_MS} ms) for ${o.seconds} s, Kafka → ingest (${o.inFlight} partitions in flight) → QuestDB, polled every ${POLL_MS} ms`);
    for (let r = 0; r < repeat; r++) {
      for (const w of watermarks) {
        const f = await measure(state, db, w, o);
        const goal = w === 0 ? `goal p99 ≤ 1,000 ms: ${f.p99 <= 1000 ? 'met' : 'missed'}` : `goal p50 ≤ ${fmt(w + 500)} ms: ${f.p50 <= w + 500 ? 'met' : 'missed'}`;
        console.log(`  #${r + 1} watermark ${fmt(w)} ms: p50 ${fmt(f.p50)} ms, p99 ${fmt(f.p99)} ms, max ${fmt(f.max)} ms (${f.n} of ${f.expected} messages seen); written (QuestDB acknowledged) p50 ${fmt(f.ackP50)} ms, p99 ${fmt(f.ackP99)} ms (load average ${loadavg()[0]!.toFixed(1)})   ${goal}`);
        console.log(`      where the time goes, per stage (ms: p50 / p99 of the stage alone / mean over the slowest 1 % of messages):`);
        for (const st of f.stages) console.log(`        ${st.stage.padEnd(12)} ${fmt(st.p50).padStart(6)} / ${fmt(st.p99).padStart(6)} / ${fmt(st.tailMean).padStart(6)}   ${STAGE_MEANING[st.stage]}`);
      }
    }
  } finally {
    await db.end();
    await stop();
  }
}

await main();
