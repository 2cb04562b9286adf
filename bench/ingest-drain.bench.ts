/**
 * `isoscope ingest` draining a pre-filled samples topic into QuestDB, against QuestDB's own ceiling
 * measured in the same run on the same table (issue 16's method):
 *   ceiling: pre-built ILP text (protocol version 2) over HTTP, 20,000 rows a request, 2 requests in
 *            flight, DEDUP on, timed until every row is visible to a query;
 *   ingest:  a fresh consumer group drains N samples (collector-shaped messages of 500 samples,
 *            gzip'ed by the bus as in production, timestamps an hour old so no watermark holds them)
 *            until every row is visible; CPU-seconds per million samples from this process's own
 *            CPU time (process.cpuUsage) over the drain: ingest runs here and nothing else does;
 *   JVM peer: Kafka's Java consumer + QuestDB's Java ILP Sender (bench/peer/), built at bench time,
 *            draining the same topic (a pre-fill of its own) into the same table in its own group;
 *   producer: the pre-fill itself, encode (schema v2) + send to Kafka (gzip, acked), samples per
 *            CPU-second of this process (the records are built before).
 * Each repetition drains only its own samples: the topic is truncated between repetitions.
 *
 * The figure is paired: QuestDB's ceiling moves by up to 1.7× between repetitions on one machine, so
 * each drain is divided by the ceiling measured right beside it, the two in alternating order
 * (ceiling first in odd repetitions, the drain first in even ones) so neither always gets the
 * quieter or warmer moment; the summary is the median of those ratios with their range, and how
 * many reach the goal. Before the first repetition QuestDB takes one untimed ceiling run (its JIT
 * and the table's first partitions), which otherwise made the first ceiling the lowest. The rate
 * the goal is judged by is end to end: from `ingest.start()` (group join, first fetch, decode)
 * until every row is visible. The time to ingest's first write and the rate after it are printed
 * beside it, to show the start-up's share, not instead of it.
 *
 * `--partitions-in-flight 1,2,4` drains once per value (each its own pre-fill), all against the same
 * repetition's ceiling; `--requests-in-flight N` sets the store's ILP requests open at once (default 2); `--no-peer` leaves the JVM peer out. Each line names the load average at the time.
 *
 *   npm run build && node dist/bench/ingest-drain.bench.js [--samples 1000000] [--repeat 4] [--partitions-in-flight 2] [--no-peer] [--state-dir DIR --truncate-samples]
 */
import { Sender } from '@questdb/nodejs-client';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { DEFAULT_PARTITIONS_IN_FLIGHT } from '../ingest/config.js';
import { Ingest } from '../ingest/ingest.js';
import type { ColumnBatch } from '../schema/column-batch.js';
import type { RecordName, RecordOf } from '../schema/records.js';
import type { ServicesState } from '../services/state.js';
import { IlpHttpWriter } from '../store/questdb/ilp-http.js';
import { appendRows } from '../store/questdb/ilp-rows.js';
import { IlpBuffer } from '../store/questdb/ilp-text.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { batches, prefill, visible } from './drain-common.js';
import { buildPeer, runPeer } from './peer.js';
import { arg, benchServices } from './services.js';

const ROWS_PER_REQUEST = 20_000;
const IN_FLIGHT = 2;

/** Rows per CPU-second of building ILP for `rows` (no network): the official client vs ours. */
async function encoders(rows: Record<string, unknown>[]): Promise<{ client: number; ours: number }> {
  const cpuRate = async (fn: () => Promise<void> | void) => {
    await fn(); // warm-up
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    return rows.length / ((c.user + c.system) / 1e6);
  };
  const sender = await Sender.fromConfig('http::addr=127.0.0.1:1;auto_flush=off;protocol_version=2;init_buf_size=67108864');
  const client = await cpuRate(async () => {
    for (let i = 0; i < rows.length; i += ROWS_PER_REQUEST) {
      await appendRows(sender, 'samples', rows.slice(i, i + ROWS_PER_REQUEST));
      sender.reset();
    }
  });
  await sender.close();
  const buf = new IlpBuffer();
  const ours = await cpuRate(() => {
    for (let i = 0; i < rows.length; i += ROWS_PER_REQUEST) {
      buf.reset();
      buf.append('samples', rows, i, Math.min(rows.length, i + ROWS_PER_REQUEST));
    }
  });
  return { client, ours };
}

/** QuestDB's ceiling: ILP text built beforehand, sent as fast as QuestDB takes it, until visible. */
async function ceiling(s: ServicesState, db: pg.Client, total: number): Promise<number> {
  const prefix = `ceil${Date.now().toString(36)}`;
  const rows = batches(prefix, total).flat() as unknown as Record<string, unknown>[];
  const bodies: Buffer[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_REQUEST) {
    const b = new IlpBuffer();
    b.append('samples', rows, i, Math.min(rows.length, i + ROWS_PER_REQUEST));
    bodies.push(Buffer.from(b.bytes()));
  }
  const writer = new IlpHttpWriter({ http: s.questdb.http, inFlight: IN_FLIGHT });
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) await writer.post(bodies[next++]!, 'ceiling rows');
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  await visible(db, prefix, total);
  const secs = (performance.now() - t0) / 1000;
  writer.close();
  return total / secs;
}

/** The QuestDB store, noting when ingest first writes (the end of its start-up). */
class TimedStore extends QuestDbStore {
  firstWriteAt = NaN;
  override write<N extends RecordName>(name: N, records: RecordOf<N>[] | ColumnBatch<N>): Promise<void> {
    if (Number.isNaN(this.firstWriteAt)) this.firstWriteAt = performance.now();
    return super.write(name, records);
  }
}

interface Drained {
  /** Rows/s end to end: from ingest.start() until every row is visible (what the goal is judged by). */
  rate: number;
  cpuPerM: number;
  /** Seconds from ingest.start() to its first store write. */
  startup: number;
  /** Rows/s from the first write until every row is visible. */
  afterStartup: number;
}

/** A fresh ingest group drains the pre-filled topic; rows/s until visible and CPU-s per M samples. */
async function drain(s: ServicesState, db: pg.Client, total: number, prefix: string, partitionsInFlight: number): Promise<Drained> {
  const bus = new KafkaBus({ brokers: s.kafka.brokers, partitions: 6 });
  await bus.start();
  const requests = arg('--requests-in-flight');
  const store = new TimedStore({ http: s.questdb.http, pg: s.questdb.pg, ...(requests ? { requestsInFlight: Number(requests) } : {}) });
  await store.start();
  const ingest = new Ingest(bus, store, { group: `bench-${prefix}`, partitionsInFlight });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await ingest.start();
  await visible(db, prefix, total);
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  await ingest.shutdown();
  await store.shutdown();
  await bus.shutdown();
  const startup = (store.firstWriteAt - t0) / 1000;
  return { rate: total / ((t1 - t0) / 1000), cpuPerM: (cpu.user + cpu.system) / 1e6 / (total / 1e6), startup, afterStartup: total / ((t1 - store.firstWriteAt) / 1000) };
}

/** The JVM peer drains the pre-filled topic in its own group; rows/s until visible and its CPU-s per M. */
async function drainPeer(s: ServicesState, db: pg.Client, total: number, prefix: string, peer: { cp: string }): Promise<{ rate: number; cpuPerM: number }> {
  const t0 = performance.now();
  const done = await runPeer(peer, s.kafka.brokers.join(','), `peer-${prefix}`, s.questdb.http, total);
  await visible(db, prefix, total);
  const secs = (performance.now() - t0) / 1000;
  return { rate: total / secs, cpuPerM: done.cpuSeconds / (total / 1e6) };
}

export async function main(): Promise<void> {
  const total = Number(arg('--samples') ?? 1_000_000);
  const repeat = Number(arg('--repeat') ?? 4);
  if ((arg('--state-dir') ?? process.env.ISOSCOPE_BENCH_STATE_DIR) && !process.argv.includes('--truncate-samples')) {
    // Repetitions truncate the samples topic: never do that to services other work relies on.
    console.error('ingest-drain truncates the samples topic of the services it uses; with --state-dir add --truncate-samples to confirm, or let it start its own services');
    process.exit(2);
  }
  const { state, stop } = await benchServices();
  const [host, port] = state.questdb.pg.split(':');
  const db = new pg.Client({ host, port: Number(port), user: state.questdb.user, password: state.questdb.password, database: 'qdb' });
  await db.connect();
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  try {
    const ddl = new QuestDbStore({ http: state.questdb.http, pg: state.questdb.pg });
    await ddl.start(); // ingest's tables (DEDUP keys, types) before anything writes
    await ddl.shutdown();
    const enc = await encoders(batches('enc', 200_000).flat() as unknown as Record<string, unknown>[]);
    console.log(`  building ILP (no network): official client ${fmt(enc.client)} rows per CPU-second, ours ${fmt(enc.ours)} (${(enc.ours / enc.client).toFixed(1)}×)`);
    let peer: { cp: string } | null = null;
    if (process.argv.includes('--no-peer')) console.log('  JVM peer: left out (--no-peer)');
    else {
      try {
        peer = await buildPeer();
      } catch (err) {
        console.log(`  JVM peer: not measured: ${(err as Error).message}`);
      }
    }
    const inFlight = (arg('--partitions-in-flight') ?? String(DEFAULT_PARTITIONS_IN_FLIGHT)).split(',').map(Number);
    if (inFlight.some((n) => !Number.isInteger(n) || n < 1)) {
      console.error(`--partitions-in-flight: expected a comma-separated list of integers ≥ 1, got "${arg('--partitions-in-flight')}"`);
      process.exit(2);
    }
    const load = () => `load ${loadavg()[0]!.toFixed(1)}`;
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    const results: ({ pif: number; ceil: number; producePerCpuSec: number; peerRate: number; peerCpuPerM: number } & Drained)[] = [];
    console.log(`ingest drain: ${fmt(total)} samples per figure, ${repeat} repetitions, partitions in flight ${inFlight.join(', ')}, Kafka + QuestDB on the same machine (${cpus().length} CPUs)`);
    const warm = await ceiling(state, db, Math.min(total, 200_000));
    console.log(`  QuestDB warm-up (not counted): ${fmt(warm)} rows/s (${load()})`);
    for (let r = 0; r < repeat; r++) {
      // Alternating order: ceiling, drains in odd repetitions; drains, ceiling in even ones.
      const ceilingFirst = r % 2 === 0;
      let ceil = NaN;
      const measureCeiling = async () => {
        ceil = await ceiling(state, db, total);
        console.log(`  #${r + 1}  QuestDB ceiling ${fmt(ceil)} rows/s (${load()})`);
      };
      if (ceilingFirst) await measureCeiling();
      const drained: { pif: number; d: Drained; producePerCpuSec: number; produceRate: number }[] = [];
      for (const pif of inFlight) {
        const filled = await prefill(state, total, 'drain');
        drained.push({ pif, d: await drain(state, db, total, filled.prefix, pif), producePerCpuSec: filled.producePerCpuSec, produceRate: filled.produceRate });
      }
      if (!ceilingFirst) await measureCeiling();
      for (const { pif, d, produceRate, producePerCpuSec } of drained) {
        console.log(`      ingest, ${pif} partition${pif === 1 ? '' : 's'} in flight (${ceilingFirst ? 'after' : 'before'} the ceiling): ${fmt(d.rate)} rows/s end to end = ${pct(d.rate / ceil)} of the ceiling (goal ≥ 40%); first write after ${d.startup.toFixed(2)} s, ${fmt(d.afterStartup)} rows/s from there = ${pct(d.afterStartup / ceil)}; ingest CPU ${d.cpuPerM.toFixed(2)} s per M samples (goal ≤ 3) (${load()})`);
        console.log(`        producer (encode() v2 + send to Kafka, acked) ${fmt(produceRate)} samples/s, ${fmt(producePerCpuSec)} samples per CPU-second`);
      }
      let p = { rate: NaN, cpuPerM: NaN };
      if (peer) {
        p = await drainPeer(state, db, total, (await prefill(state, total, 'peer')).prefix, peer);
        console.log(`      JVM peer (Kafka Java consumer + QuestDB Java Sender) ${fmt(p.rate)} rows/s = ${pct(p.rate / ceil)} of this repetition's ceiling, ${p.cpuPerM.toFixed(2)} CPU-s per M samples (JVM start and JIT included; ${load()})`);
        for (const { pif, d } of drained) console.log(`        ingest (${pif} in flight) / peer ${(d.rate / p.rate).toFixed(2)}× rows/s, ${(p.cpuPerM / d.cpuPerM).toFixed(2)}× less CPU per sample`);
      }
      for (const { pif, d, producePerCpuSec } of drained) results.push({ pif, ceil, ...d, producePerCpuSec, peerRate: p.rate, peerCpuPerM: p.cpuPerM });
    }
    const span = (xs: number[], f: (n: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    for (const pif of inFlight) {
      const rs = results.filter((x) => x.pif === pif);
      const ratios = rs.map((x) => x.rate / x.ceil);
      console.log(`  ${pif} in flight, paired (each drain / the ceiling beside it), end to end: median ${pct(median(ratios))}, range ${span(ratios, (n) => pct(n))}, ${ratios.filter((x) => x >= 0.4).length} of ${ratios.length} ≥ 40% (the goal is judged by this)`);
      const after = rs.map((x) => x.afterStartup / x.ceil);
      console.log(`    from the first write on (start-up left out, for information): median ${pct(median(after))}, range ${span(after, (n) => pct(n))}; start-up to the first write ${span(rs.map((x) => x.startup), (n) => n.toFixed(2))} s`);
      console.log(`    ceiling ${span(rs.map((x) => x.ceil), fmt)} rows/s; ingest ${span(rs.map((x) => x.rate), fmt)} rows/s; CPU ${span(rs.map((x) => x.cpuPerM), (n) => n.toFixed(2))} s per M samples (goal ≤ 3)`);
    }
    console.log(`  producer: ${span(results.map((x) => x.producePerCpuSec), fmt)} samples per CPU-second (goal ≥ 500,000)`);
    if (peer) console.log(`  peer: ${span(results.map((x) => x.peerRate), fmt)} rows/s, ${span(results.map((x) => x.peerCpuPerM), (n) => n.toFixed(2))} CPU-s per M samples; ingest / peer ${span(results.map((x) => x.rate / x.peerRate), (n) => n.toFixed(2))}× rows/s`);
  } finally {
    await db.end();
    await stop();
  }
}

await main();
