/**
 * Integration, on the real Kafka and QuestDB: run/partition tagging with control records that
 * arrive after their samples (within the watermark: tagged; after it: untagged but found by the
 * ASOF JOIN of ingest/README.md), sequence gaps as `seq_gap` events, and the /metrics endpoint.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { nowNs } from '../core/clock.js';
import { encode } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { pollUntil, uniqueName } from '../test/services.js';
import { Ingest } from './ingest.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';

const S = 1_000_000_000n;

function samples(node: string, collector: string, seq: number, ts: bigint): RecordInput<'samples'>[] {
  return [0, 1, 2, 3, -1].map((cpu, idx) => ({ ts: ts + BigInt(idx), node, collector, seq, idx, source: 'procfs', metric: 'cpu.user', value: seq * 10 + idx, cpu }));
}
function runStart(run: string, node: string, ts: bigint): RecordInput<'runs'> {
  return { ts, run, experiment: 'itest', workload: 'hpcc', phase: 'start', nodes: `other,${node}`, node_count: 2, stack: 'linux', background: false, repetition: 1 };
}
function create(partition: string, node: string, ts: bigint, cpus: string): RecordInput<'partitions'> {
  return { ts, partition, node, driver: 'linux-cpuset', action: 'create', cpus, mem_mb: 512 };
}

describe('ingest: tagging, sequence gaps and metrics on Kafka → QuestDB', () => {
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;

  beforeAll(async () => void ({ bus, store, db } = await openKafkaQuestDb()));
  afterAll(() => closeKafkaQuestDb({ bus, store, db }));

  it('tags samples whose control records come late but within the watermark; later ones stay untagged yet join by time', async () => {
    const [node, late, collector, run, part, lateRun] = ['tag-node', 'late-node', 'tag-col', 'run', 'part', 'late-run'].map(uniqueName) as [string, string, string, string, string, string];
    const ingest = new Ingest(bus, store, { group: uniqueName('tag-group'), watermarkMs: 6000, metricsListen: '127.0.0.1:0' });
    await ingest.start();
    const producer = bus.producer();
    const t = nowNs();
    // Live samples first (seq 3 and 4 never sent: a gap), their control records 1 s later.
    for (const seq of [0, 1, 2, 5]) await producer.send('samples', [{ key: node, value: encode('samples', samples(node, collector, seq, t + BigInt(seq) * 1000n)) }]);
    // Old samples of another node: past their watermark on arrival, so written at once, untagged.
    await producer.send('samples', [{ key: late, value: encode('samples', samples(late, `${collector}-late`, 0, t - 60n * S)) }]);
    await new Promise((r) => setTimeout(r, 1000));
    await producer.send('runs', [{ key: run, value: encode('runs', [runStart(run, node, t - 10n * S)]) }]);
    await producer.send('partitions', [{ key: node, value: encode('partitions', [create(part, node, t - 10n * S, '0-1'), create(`${part}-b`, node, t - 5n * S, '3')]) }]);
    await ingest.waitUntilIdle(500);
    // The late node's control records only now, long after its samples were written.
    await producer.send('runs', [{ key: lateRun, value: encode('runs', [runStart(lateRun, late, t - 120n * S)]) }]);
    await producer.send('partitions', [{ key: late, value: encode('partitions', [create(`${part}-late`, late, t - 120n * S, '0-3')]) }]);
    await ingest.waitUntilIdle(500);
    await producer.shutdown();

    const metrics = await (await fetch(`http://${ingest.metricsAddress}/metrics`)).text();
    await ingest.shutdown();

    const rows = await pollUntil(
      async () => (await db.query({ text: 'SELECT seq, cpu, run, "partition" FROM samples WHERE node = $1 ORDER BY seq, idx', values: [node] })).rows,
      (r) => r.length >= 20,
    );
    expect(rows).toHaveLength(20);
    for (const row of rows) {
      expect(row.run).toBe(run);
      expect(row.partition).toBe(row.cpu <= 1 && row.cpu >= 0 ? part : row.cpu === 3 ? `${part}-b` : null);
    }
    expect(ingest.stats.tagged).toBeGreaterThanOrEqual(20);

    const lateRows = await pollUntil(async () => (await db.query({ text: 'SELECT run, "partition" FROM samples WHERE node = $1', values: [late] })).rows, (r) => r.length >= 5);
    expect(lateRows).toEqual(Array(5).fill({ run: null, partition: null }));
    // The documented time join still finds the run (and the node's partition) for them.
    const joined = await pollUntil(
      async () => (await db.query(asofExample(late))).rows,
      (r) => r.length === 5 && r.every((x) => x.run === lateRun),
    );
    expect(joined.map((x) => [x.run, x.partition])).toEqual(Array(5).fill([lateRun, `${part}-late`]));

    // The gap of seq 3..4 as an event row.
    const gaps = await pollUntil(
      async () => (await db.query({ text: "SELECT node, seq, idx, source, level, message, fields FROM events WHERE collector = $1 AND kind = 'seq_gap'", values: [collector] })).rows,
      (r) => r.length >= 1,
    );
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ node, seq: '5', idx: -1, source: 'ingest', level: 'warning', message: `Collector ${collector} skipped 2 samples batches (seq 3..4).` });
    expect(JSON.parse(gaps[0].fields)).toMatchObject({ topic: 'samples', from_seq: 3, to_seq: 4, size: 2 });
    expect(ingest.stats.seqGaps).toBeGreaterThanOrEqual(1); // earlier tests' collectors may have gaps too

    // Metrics scraped from the real endpoint.
    // The group reads the topics from the beginning, so earlier tests' rows count too.
    expect(Number(/^isoscope_ingest_rows_total\{topic="samples"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(25);
    expect(metrics).toMatch(/^isoscope_ingest_rows_total\{topic="events"\} [1-9]\d*$/m); // the seq_gap row
    expect(Number(/^isoscope_ingest_seq_gaps_total\{topic="samples"\} (\d+)$/m.exec(metrics)?.[1])).toBe(ingest.stats.seqGaps);
    expect(metrics).toMatch(/^isoscope_ingest_seq_missing_batches_total\{topic="samples"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^isoscope_ingest_batch_write_seconds_count\{topic="samples"\} [1-9]\d*$/m);
    // Lag per topic partition (however many partitions the shared topics were created with), all caught up.
    const lags = [...metrics.matchAll(/^isoscope_ingest_lag_messages\{topic="(\w[\w-]*)",partition="(\d+)"\} (\S+)$/gm)];
    expect(lags.filter((m) => m[1] === 'samples').length).toBeGreaterThanOrEqual(1);
    expect(new Set(lags.map((m) => m[1]))).toEqual(new Set(['samples', 'events', 'partitions', 'runs', 'alerts']));
    expect(lags.every((m) => m[3] === '0')).toBe(true);
    expect(metrics).toMatch(/^isoscope_ingest_committed_offset\{topic="samples",partition="\d"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^isoscope_ingest_partition_lag_seconds\{topic="runs",partition="\d"\} \d/m);
    expect(metrics).toMatch(/^isoscope_ingest_dead_letters_total\{topic="samples"\} \d+$/m);
    expect(metrics).toMatch(/^isoscope_ingest_watermark_wait_seconds_bucket\{le="10"\} [1-9]/m);
  });
});

/** The ASOF JOIN query of ingest/README.md, as written there, for one node. */
function asofExample(node: string): string {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const sql = /```sql\n(SELECT s\.ts[\s\S]*?)```/.exec(readme)?.[1];
  if (!sql) throw new Error('ingest/README.md has no ASOF JOIN example starting "SELECT s.ts"; expected one in a sql block');
  return sql.replaceAll("'n1'", `'${node}'`).replaceAll('(^|,)n1(,|$)', `(^|,)${node}(,|$)`).replace(/;\s*$/, '');
}
