/** What ingest-drain and ingest-scaleout share: collector-shaped samples, the pre-fill, the visibility poll. */
import { Kafka, logLevel } from 'kafkajs';
import type pg from 'pg';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { encode, validate } from '../schema/codec.js';
import type { Sample } from '../schema/records.js';
import type { ServicesState } from '../services/state.js';

export const PER_MESSAGE = 500;
export const COLLECTORS = 50;

/** `total` samples from COLLECTORS collectors in batches of PER_MESSAGE, an hour old. */
export function batches(prefix: string, total: number): Sample[][] {
  const out: Sample[][] = [];
  const t0 = (BigInt(Date.now()) - 3_600_000n) * 1_000_000n;
  for (let b = 0; b * PER_MESSAGE < total; b++) {
    const c = b % COLLECTORS;
    const seq = Math.floor(b / COLLECTORS);
    const ts = t0 + BigInt(seq) * 100_000_000n + BigInt(c) * 1000n;
    out.push(validate('samples', Array.from({ length: Math.min(PER_MESSAGE, total - b * PER_MESSAGE) }, (_, idx) => ({
      ts, node: `${prefix}-n${c}`, collector: `${prefix}-n${c}/perf`, seq, idx, source: idx % 2 ? 'perf' : 'procfs',
      metric: `metric_${idx % 50}`, value: Math.random() * 1e6, cpu: idx % 8,
    }))));
  }
  return out;
}

export async function visible(db: pg.Client, prefix: string, total: number): Promise<void> {
  for (;;) {
    const r = await db.query(`SELECT count() n FROM samples WHERE collector LIKE '${prefix}-%'`);
    if (Number(r.rows[0].n) >= total) return;
    await new Promise((res) => setTimeout(res, 50));
  }
}

export interface Prefilled {
  prefix: string;
  produceRate: number;
  producePerCpuSec: number;
}

/** Pre-fills the samples topic, timing the producer side: encode + send to Kafka, gzip'ed, acked. */
export async function prefill(s: ServicesState, total: number, tag: string, partitions = 6, truncateFirst = true): Promise<Prefilled> {
  if (truncateFirst) await truncate(s).catch(() => undefined); // nothing to truncate before the topic exists
  const prefix = `${tag}${Date.now().toString(36)}`;
  const bus = new KafkaBus({ brokers: s.kafka.brokers, partitions });
  await bus.start();
  await bus.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
  const producer = bus.producer();
  await producer.start();
  const data = batches(prefix, total);
  const pcpu0 = process.cpuUsage();
  const pt0 = performance.now();
  for (let i = 0; i < data.length; i += 100) {
    await producer.send('samples', data.slice(i, i + 100).map((b) => ({ key: b[0]!.collector, value: encode('samples', b) })));
  }
  const psecs = (performance.now() - pt0) / 1000;
  const pcpu = process.cpuUsage(pcpu0);
  await producer.shutdown();
  await bus.shutdown();
  return { prefix, produceRate: total / psecs, producePerCpuSec: total / ((pcpu.user + pcpu.system) / 1e6) };
}

/** Drops what earlier repetitions left on the samples topic, so a fresh group drains only its own. */
export async function truncate(s: ServicesState): Promise<void> {
  const admin = new Kafka({ brokers: s.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets('samples');
    await admin.deleteTopicRecords({ topic: 'samples', partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
  } finally {
    await admin.disconnect();
  }
}

