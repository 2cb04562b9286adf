/**
 * The load generator: N simulated collectors, each the real collector agent (its batching, send
 * queue, batch sequence file and, for kafka/http, its disk spool) reading a {@link SyntheticSource},
 * together producing `count` samples at `rate` samples/s. Users size Kafka and QuestDB with it; the
 * chaos tests and bench/ingest drive the pipeline with it. It returns once every batch is on the bus
 * (the spools drained), with each collector's sequence range and the checksums of what it produced.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '../bus/bus.js';
import { CollectorAgent } from '../collectors/agent.js';
import { SequenceFile } from '../collectors/sequence.js';
import { createSink, type Sink, type SinkKind } from '../collectors/sink.js';
import { SyntheticSource } from '../collectors/synthetic/synthetic-source.js';
import { UserError } from '../core/errors.js';
import { planLoad, type LoadPlan } from './plan.js';

export interface LoadgenOptions {
  collectors: number;
  /** Samples per second, all collectors together. */
  rate: number;
  /** Samples in all. */
  count: number;
  /** Samples per batch; default: what gives each collector 10 batches/s (1 to 5000). */
  batchSize?: number;
  sink: Exclude<SinkKind, 'stdout'>;
  /** The bus for kafka and embedded sinks. */
  bus: Bus | null;
  http?: { url: string; token: string } | undefined;
  /** Sequence files and spools live under `<stateDir>/<node>/`. */
  stateDir: string;
  spoolMaxBytes: number;
  /** Node names are `<prefix>-1` … `<prefix>-N`. @default 'loadgen' */
  nodePrefix?: string;
  /** Called about every 250 ms with the samples produced so far (durable in the spool or on the bus). */
  onProgress?: (produced: number, total: number) => void;
  signal?: AbortSignal;
}

export interface LoadgenCollectorReport {
  node: string;
  collector: string;
  samples: number;
  batches: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Sum of the values produced: (samples·(samples−1))/2 by construction. */
  valueSum: number;
  /** Batches dropped at the queue or spool bound (0 unless the bound was hit). */
  dropped: number;
  /** Batches still in the spool when the run was stopped early (0 after a complete run). */
  spooled: number;
}

export interface LoadgenReport {
  plan: LoadPlan;
  collectors: LoadgenCollectorReport[];
  samples: number;
  batches: number;
  dropped: number;
  seconds: number;
  /** Samples per second achieved, first batch to last acknowledged. */
  achievedRate: number;
  /** False if the run was stopped before every sample was on the bus. */
  complete: boolean;
}

interface SimulatedCollector {
  node: string;
  collector: string;
  source: SyntheticSource;
  agent: CollectorAgent;
  sink: Sink;
}

export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenReport> {
  const plan = planLoad(o);
  if ((o.sink === 'kafka' || o.sink === 'embedded') && !o.bus) throw new UserError(`the ${o.sink} sink needs a bus`);
  const prefix = o.nodePrefix ?? 'loadgen';
  const sims: SimulatedCollector[] = [];
  for (const [i, total] of plan.perCollector.entries()) {
    if (total === 0) continue;
    const node = `${prefix}-${i + 1}`;
    const collector = `${node}/loadgen`;
    const dir = join(o.stateDir, node);
    mkdirSync(dir, { recursive: true });
    // Many spools in one process: their fdatasyncs stay on the thread pool, not one after another on the loop.
    const sink = createSink(o.sink, { bus: o.bus, stateDir: dir, spoolMaxBytes: o.spoolMaxBytes, http: o.http, spoolWriteOnLoop: false });
    const source = new SyntheticSource({ total, batchSize: plan.batchSize });
    const agent = new CollectorAgent({
      node,
      collectorId: collector,
      sources: [source],
      intervalMs: plan.intervalMs,
      producer: sink.producer,
      sequence: SequenceFile.forCollector(dir, collector),
      maxBatches: Math.ceil(total / plan.batchSize),
      // Never drop in memory: the spool (or the embedded log) is the buffer, and its bound is explicit.
      maxQueuedBatches: Number.MAX_SAFE_INTEGER,
    });
    sims.push({ node, collector, source, agent, sink });
  }

  const produced = (): number => sims.reduce((n, s) => n + s.agent.stats.samples, 0);
  const started = performance.now();
  const progress = o.onProgress ? setInterval(() => o.onProgress!(produced(), o.count), 250) : null;
  let complete = true;
  try {
    for (const s of sims) await s.sink.producer.start();
    for (const s of sims) await s.agent.start();
    const aborted = new Promise<'aborted'>((resolve) => {
      if (o.signal?.aborted) resolve('aborted');
      o.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const allProduced = Promise.all(sims.map((s) => s.agent.done)).then(() => 'produced' as const);
    if ((await Promise.race([allProduced, aborted])) === 'aborted') complete = false;
    // Every batch is in the sink; wait until the spools handed them all to the bus.
    while (complete && sims.some((s) => (s.sink.spooling?.spool.stats.batches ?? 0) > 0)) {
      if ((await Promise.race([new Promise((r) => setTimeout(r, 20)), aborted])) === 'aborted') complete = false;
    }
  } finally {
    if (progress) clearInterval(progress);
    for (const s of sims) await s.agent.shutdown(complete ? 10_000 : 500);
    for (const s of sims) await s.sink.producer.shutdown(complete ? 10_000 : 1000);
  }
  const seconds = (performance.now() - started) / 1000;
  const collectors = sims.map((s): LoadgenCollectorReport => {
    const st = s.agent.stats;
    return {
      node: s.node,
      collector: s.collector,
      samples: s.source.produced,
      batches: st.batches,
      firstSeq: st.firstSeq,
      lastSeq: st.lastSeq,
      valueSum: s.source.valueSum,
      dropped: st.dropped + (s.sink.spooling?.spool.stats.droppedBatches ?? 0),
      spooled: s.sink.spooling?.spool.stats.batches ?? 0,
    };
  });
  o.onProgress?.(produced(), o.count);
  const samples = collectors.reduce((n, c) => n + c.samples, 0);
  return {
    plan,
    collectors,
    samples,
    batches: collectors.reduce((n, c) => n + c.batches, 0),
    dropped: collectors.reduce((n, c) => n + c.dropped, 0),
    seconds,
    achievedRate: samples / seconds,
    complete: complete && collectors.every((c) => c.spooled === 0),
  };
}
