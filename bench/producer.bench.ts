/**
 * The collectors' own producer path against the goal of ≥ 500,000 samples per CPU-second, and against
 * a ceiling measured in the same run:
 *   collector path: the load generator in this process, i.e. the real collector agent (SampleBatch
 *                   encoding straight into the message, the send queue, the disk spool with its
 *                   group commit, the Kafka producer: gzip, acks from all replicas, the spooled
 *                   batches forwarded several per request), C collectors of B samples per batch;
 *                   samples per CPU-second of this process, and the batches per Kafka request;
 *   ceiling:        the Kafka producer alone sending pre-encoded bodies of the same size and number,
 *                   C senders, as many bodies per request as the path sent in that run (and, for
 *                   comparison, one body per request, as the spool forwarded them before);
 *   encoding only:  SampleBatch (version 2) as the load generator fills it (object per sample,
 *                   addFields) and as procfs fills it (pre-encoded names, addEncoded); `encode()` of
 *                   the same samples from record objects; the size of the same samples as version 1
 *                   (encodeV1) and 2, and what ingest spends decoding and validating either, per
 *                   sample (why collectors send version 2).
 *
 *   npm run build && node dist/bench/producer.bench.js [--samples 400000] [--collectors 8] [--batch 200] [--repeat 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { SampleBatch } from '../collectors/sample-batch.js';
import { runLoadgen } from '../loadgen/loadgen.js';
import { decode, encode, encodeV1 } from '../schema/codec.js';
import type { ServicesState } from '../services/state.js';
import { arg, benchServices } from './services.js';

const cpuSeconds = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;

/** Samples per CPU-second of `fn` run over `samples` samples (after one warm-up run). */
function perCpuSecond(samples: number, fn: () => void): number {
  fn();
  const c0 = process.cpuUsage();
  fn();
  return samples / cpuSeconds(process.cpuUsage(c0));
}

/** The bodies one load-generator collector writes: `batches` SampleBatch messages of `batch` samples. */
function loadgenBodies(node: string, batches: number, batch: number, from = 0): Buffer[] {
  const b = new SampleBatch(node, `${node}/loadgen`);
  const out: Buffer[] = [];
  const ts = BigInt(Date.now()) * 1_000_000n;
  for (let s = 0; s < batches; s++) {
    b.begin(ts + BigInt(s) * 1_000_000n, from + s);
    b.source('loadgen');
    for (let i = 0; i < batch; i++) {
      const k = s * batch + i;
      b.addFields({ metric: `loadgen_${k % 8}`, value: k, cpu: k % 4 });
    }
    out.push(b.finish());
  }
  return out;
}

function encoding(batch: number, samples: number): { addFields: number; addEncoded: number; v2Encode: number; v1Decode: number; v2Decode: number; v1Bytes: number; v2Bytes: number } {
  const batches = Math.ceil(samples / batch);
  const addFields = perCpuSecond(batches * batch, () => void loadgenBodies('enc-n1', batches, batch));
  const metrics = Array.from({ length: 8 }, (_, m) => JSON.stringify(`loadgen_${m}`));
  const addEncoded = perCpuSecond(batches * batch, () => {
    const b = new SampleBatch('enc-n1', 'enc-n1/procfs');
    for (let s = 0; s < batches; s++) {
      b.begin(1_795_000_000_000_000_000n + BigInt(s), s);
      b.source('procfs');
      for (let i = 0; i < batch; i++) b.addEncoded(metrics[i % 8]!, s * batch + i, i % 4, 1, '');
      b.finish();
    }
  });
  const v2 = loadgenBodies('enc-n1', batches, batch);
  const records = v2.map((body) => decode(body, 'samples').records);
  const v2Encode = perCpuSecond(batches * batch, () => { for (const r of records) encode('samples', r); });
  const v1 = records.map((r) => encodeV1('samples', r));
  const v1Decode = perCpuSecond(batches * batch, () => { for (const body of v1) decode(body, 'samples'); });
  const v2Decode = perCpuSecond(batches * batch, () => { for (const body of v2) decode(body, 'samples'); });
  const bytes = (xs: Buffer[]) => xs.reduce((n, x) => n + x.length, 0) / (batches * batch);
  return { addFields, addEncoded, v2Encode, v1Decode, v2Decode, v1Bytes: bytes(v1), v2Bytes: bytes(v2) };
}

/** The bus of `bus` with every producer's requests counted (batches per request of the path). */
function countingBus(bus: Bus): { bus: Bus; requests: () => number; messages: () => number } {
  let requests = 0;
  let messages = 0;
  const counted = Object.create(bus) as Bus;
  counted.producer = () => {
    const p = bus.producer();
    return { start: () => p.start(), shutdown: (ms) => p.shutdown(ms), send: (topic, ms) => ((requests++, messages += ms.length), p.send(topic, ms)) };
  };
  return { bus: counted, requests: () => requests, messages: () => messages };
}

/** The real collector path: loadgen's agents, spools and Kafka producers in this process. */
async function collectorPath(s: ServicesState, collectors: number, batch: number, samples: number): Promise<{ perCpuSec: number; rate: number; perRequest: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-producer-bench-'));
  const kafka = new KafkaBus({ brokers: s.kafka.brokers });
  await kafka.start();
  await kafka.ensureTopics(['samples', 'events']);
  const { bus, requests, messages } = countingBus(kafka);
  try {
    const c0 = process.cpuUsage();
    const report = await runLoadgen({
      collectors, batchSize: batch, count: samples, rate: collectors * batch * 1000, // one batch per collector per ms: as fast as it goes
      sink: 'kafka', bus, stateDir: dir, spoolMaxBytes: 1024 ** 3, nodePrefix: `prod${Date.now().toString(36)}`,
    });
    const cpu = cpuSeconds(process.cpuUsage(c0));
    if (!report.complete || report.samples !== samples) throw new Error(`loadgen sent ${report.samples} of ${samples} samples`);
    return { perCpuSec: samples / cpu, rate: report.achievedRate, perRequest: messages() / requests() };
  } finally {
    await kafka.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The Kafka producer alone: the same number and size of pre-encoded bodies, `perRequest` bodies per
 * request (the path's mean, or 1 as every batch went before), `collectors` senders.
 */
async function ceiling(s: ServicesState, collectors: number, batch: number, samples: number, perRequest: number): Promise<{ perCpuSec: number; rate: number }> {
  const per = Math.ceil(samples / collectors / batch);
  const prefix = `ceil${Date.now().toString(36)}`;
  const bodies = Array.from({ length: collectors }, (_, c) => loadgenBodies(`${prefix}-${c + 1}`, per, batch));
  const bus = new KafkaBus({ brokers: s.kafka.brokers });
  await bus.start();
  try {
    const producers = bodies.map(() => bus.producer());
    for (const p of producers) await p.start();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(producers.map(async (p, c) => {
      const mine = bodies[c]!;
      for (let i = 0; i < mine.length; i += perRequest) {
        await p.send('samples', mine.slice(i, i + perRequest).map((body) => ({ key: `${prefix}-${c + 1}`, value: body })));
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(process.cpuUsage(c0));
    const sent = collectors * per * batch;
    return { perCpuSec: sent / cpu, rate: sent / secs };
  } finally {
    await bus.shutdown();
  }
}

export async function main(): Promise<void> {
  const samples = Number(arg('--samples') ?? 400_000);
  const collectors = Number(arg('--collectors') ?? 8);
  const batch = Number(arg('--batch') ?? 200);
  const repeat = Number(arg('--repeat') ?? 2);
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const load = () => `load ${loadavg()[0]!.toFixed(1)}`;
  const enc = encoding(batch, 200_000);
  console.log(`producer encoding (samples per CPU-second, ${batch} per batch): SampleBatch (v2) as loadgen fills it ${fmt(enc.addFields)}, as procfs fills it ${fmt(enc.addEncoded)}; encode() (v2) from record objects ${fmt(enc.v2Encode)}`);
  console.log(`  message size ${enc.v1Bytes.toFixed(0)} bytes/sample (v1) vs ${enc.v2Bytes.toFixed(0)} (v2); ingest decode + validation ${fmt(enc.v1Decode)} (v1) vs ${fmt(enc.v2Decode)} (v2) samples per CPU-second (${load()})`);
  const { state, stop } = await benchServices();
  try {
    console.log(`collector producer path: ${fmt(samples)} samples, ${collectors} collectors, ${batch} samples per batch, Kafka on the same machine (${cpus().length} CPUs), ${repeat} repetitions`);
    const results: { path: number; ceil: number; one: number }[] = [];
    for (let r = 0; r < repeat; r++) {
      const path = await collectorPath(state, collectors, batch, samples);
      const perRequest = Math.max(1, Math.round(path.perRequest));
      const ceil = await ceiling(state, collectors, batch, samples, perRequest);
      const one = await ceiling(state, collectors, batch, samples, 1);
      results.push({ path: path.perCpuSec, ceil: ceil.perCpuSec, one: one.perCpuSec });
      console.log(`  #${r + 1}  collector path (encode + queue + spool + Kafka) ${fmt(path.perCpuSec)} samples per CPU-second (goal ≥ 500,000), ${fmt(path.rate)} samples/s, ${path.perRequest.toFixed(1)} batches per Kafka request`);
      console.log(`      ceiling (Kafka producer alone, same bodies, ${perRequest} per request) ${fmt(ceil.perCpuSec)} per CPU-second, ${fmt(ceil.rate)} samples/s; path = ${((path.perCpuSec / ceil.perCpuSec) * 100).toFixed(0)}% of it; one body per request ${fmt(one.perCpuSec)} per CPU-second (${load()})`);
    }
    const span = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
    console.log(`  spread: collector path ${span(results.map((x) => x.path))} samples per CPU-second (goal ≥ 500,000); ceiling at the path's batches per request ${span(results.map((x) => x.ceil))}; one per request ${span(results.map((x) => x.one))}`);
  } finally {
    await stop();
  }
}

await main();
