/**
 * A real pipeline run for the dashboard tests, on the test run's Kafka and QuestDB: run and
 * partition records and co-kernel events go onto the bus (as the orchestrator and log collectors
 * put them), four real procfs collectors (one per node, one run per node: two baseline, two with
 * background) produce to Kafka, and ingest writes it all to QuestDB, tagging samples with their
 * run and partition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaBus } from '../../bus/kafka/kafka-bus.js';
import { CollectorAgent } from '../../collectors/agent.js';
import { procfsConfigSchema } from '../../collectors/procfs/config.js';
import { ProcfsSource } from '../../collectors/procfs/procfs.js';
import { SequenceFile } from '../../collectors/sequence.js';
import { nowNs } from '../../core/clock.js';
import { Ingest } from '../../ingest/ingest.js';
import { encode } from '../../schema/codec.js';
import type { RecordInput } from '../../schema/records.js';
import type { QuestDbStore } from '../../store/questdb/questdb-store.js';
import { pollUntil, uniqueName } from '../../test/services.js';

export interface PipelineSeed {
  experiment: string;
  runs: { run: string; node: string; background: boolean }[];
  fromMs: number;
  toMs: number;
}

const MS = 1_000_000n;

export async function runPipeline(bus: KafkaBus, store: QuestDbStore, batches = 8, intervalMs = 250): Promise<PipelineSeed> {
  const tag = uniqueName('graf');
  const experiment = `gx-${tag}`;
  const runs = [false, false, true, true].map((background, i) => ({ run: `${tag}-${background ? 'bg' : 'base'}-${i}`, node: `gn${i}-${tag}`, background, repetition: (i % 2) + 1 }));
  const producer = bus.producer();
  await bus.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
  const t0 = nowNs();
  const runRecord = (r: (typeof runs)[number], phase: 'start' | 'end', ts: bigint): RecordInput<'runs'> => ({
    ts, run: r.run, experiment, workload: 'stress-ng', phase, nodes: r.node, node_count: 1, stack: 'linux', background: r.background, repetition: r.repetition,
    config: { seed: 'grafana-test', background_workload: r.background ? 'stress-ng --cpu 1' : null },
    ...(phase === 'end' ? { result: r.background ? 800 + r.repetition * 10 : 1000 + r.repetition * 7, unit: 'bogo-ops/s' } : {}),
  });
  await producer.send('runs', runs.map((r) => ({ key: r.run, value: encode('runs', [runRecord(r, 'start', t0)]) })));
  await producer.send('partitions', runs.map((r) => ({ key: r.node, value: encode('partitions', [{ ts: t0 - MS, partition: `p-${r.run}`, node: r.node, driver: 'pisces-kitten', action: 'create', cpus: '0', mem_mb: 512, run: r.run }]) })));
  await producer.send('events', runs.map((r, i) => ({
    key: r.node,
    value: encode('events', [
      { ts: t0 + 100n * MS, node: r.node, collector: `${r.node}/logs`, seq: 0, idx: 0, source: 'kitten', level: 'info', kind: 'core_add', partition: `p-${r.run}`, run: r.run, pcore: 0, message: 'core 0 added to the enclave' },
      { ts: t0 + 200n * MS, node: r.node, collector: `${r.node}/logs`, seq: 0, idx: 1, source: 'palacios', level: r.background ? 'error' : 'info', kind: r.background ? 'error' : 'vm_launch', partition: `p-${r.run}`, run: r.run, vm: `vm${i}`, message: r.background ? 'exit storm' : 'vm launched' },
    ]),
  })));
  const ingest = new Ingest(bus, store, { group: uniqueName('graf-ingest'), watermarkMs: 1000 });
  await ingest.start();
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-grafana-'));
  try {
    const agents = runs.map((r) => new CollectorAgent({
      node: r.node, collectorId: `${r.node}/procfs`, sources: [new ProcfsSource(procfsConfigSchema.parse({}))], intervalMs, producer,
      sequence: SequenceFile.forCollector(dir, `${r.node}/procfs`), maxBatches: batches,
    }));
    await Promise.all(agents.map((a) => a.start()));
    await Promise.all(agents.map((a) => a.done));
    await Promise.all(agents.map((a) => a.shutdown()));
    const end = nowNs();
    await producer.send('runs', runs.map((r) => ({ key: r.run, value: encode('runs', [runRecord(r, 'end', end)]) })));
    await producer.send('partitions', runs.map((r) => ({ key: r.node, value: encode('partitions', [{ ts: end + MS, partition: `p-${r.run}`, node: r.node, driver: 'pisces-kitten', action: 'destroy', cpus: '', mem_mb: 0, run: r.run }]) })));
    await ingest.waitUntilIdle(500);
  } finally {
    await ingest.shutdown();
    await producer.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
  const list = runs.map((r) => `'${r.run}'`).join(',');
  const count = async (sql: string) => Number((await store.query(sql)).rows[0]![0]);
  const tagged = () => count(`SELECT count() FROM (SELECT DISTINCT run FROM samples WHERE run IN (${list}))`);
  const ended = () => count(`SELECT count() FROM runs WHERE run IN (${list}) AND phase = 'end'`);
  const seen = await pollUntil(async () => [await tagged(), await ended()], ([a, b]) => a === runs.length && b === runs.length, 60_000);
  if (seen[0] !== runs.length || seen[1] !== runs.length) throw new Error(`the pipeline did not deliver: ${seen[0]} of ${runs.length} runs have tagged samples, ${seen[1]} ended`);
  return { experiment, runs, fromMs: Number(t0 / MS) - 60_000, toMs: Number(nowNs() / MS) + 60_000 };
}
