/**
 * The embedded path (embedded durable bus → ingest → DuckDB) draining a pre-filled samples topic,
 * against DuckDB's own bulk-load ceiling measured in the same run on the same disk (issue 16):
 *   ceiling:     the same rows as data chunks built beforehand (the npm package's DuckDBDataChunk),
 *                appended with the Appender into a fresh samples table (same DDL) and committed:
 *                DuckDB's fastest load path from Node, with no work of ours in the timing;
 *   store.write: the DuckDB store alone writing the same rows, already decoded, in batches as ingest
 *                hands them (chunks, staging, dedup check, one transaction per batch): as records,
 *                and by column (the segments of the v2 messages, as ingest hands samples since issue 16);
 *   drain:       a fresh consumer group of `Ingest` reads the pre-filled bus (collector-shaped
 *                messages of 500 samples, schema v2, timestamps an hour old so no watermark holds
 *                them), decodes, validates, tags and writes into a fresh DuckDB file, timed until
 *                the lag is zero and every row counts in a query; CPU-seconds per million samples
 *                from this process's CPU time (the bus, ingest and DuckDB's threads all run here).
 *
 *   npm run build && node dist/bench/embedded-drain.bench.js [--samples 500000] [--repeat 2] [--dir DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBInstance, DuckDBTimestampNanosecondsValue, INTEGER, TIMESTAMP_NS, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { Ingest } from '../ingest/ingest.js';
import { decodeColumns, encode } from '../schema/codec.js';
import { batchOf, type Segment } from '../schema/column-batch.js';
import type { ColumnKind } from '../schema/columns.js';
import { duckdbCreateTable } from '../schema/ddl/duckdb.js';
import { definitionOf, type Sample } from '../schema/records.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { batches, PER_MESSAGE } from './drain-common.js';
import { arg } from './services.js';

const MESSAGES_PER_SEND = 100;
/** What ingest hands the store per write: the embedded consumer's default batch (1000 messages). */
const MESSAGES_PER_BATCH = 1000;

const TYPES: Record<ColumnKind, DuckDBType> = { timestamp: TIMESTAMP_NS, symbol: VARCHAR, string: VARCHAR, long: BIGINT, int: INTEGER, double: DOUBLE, boolean: VARCHAR, json: VARCHAR };

/** DuckDB's ceiling: chunks built before the clock starts, appended and committed. */
async function ceiling(dir: string, rows: Sample[]): Promise<{ rate: number; cpuPerM: number }> {
  const def = definitionOf('samples');
  const columns = Object.entries(def.columns);
  const types = columns.map(([, spec]) => TYPES[spec.kind]);
  const chunks: DuckDBDataChunk[] = [];
  for (let from = 0; from < rows.length; from += 2048) {
    const slice = rows.slice(from, from + 2048) as unknown as Record<string, unknown>[];
    const chunk = DuckDBDataChunk.create(types, slice.length);
    chunk.setColumns(columns.map(([name, spec]) => slice.map((r): DuckDBValue => {
      const v = r[name];
      if (v === undefined || v === null) return null;
      if (spec.kind === 'timestamp') return new DuckDBTimestampNanosecondsValue(v as bigint);
      if (spec.kind === 'long') return BigInt(v as number);
      return v as DuckDBValue;
    })));
    chunks.push(chunk);
  }
  const instance = await DuckDBInstance.create(join(dir, 'ceiling.duckdb'));
  const conn = await instance.connect();
  await conn.run(duckdbCreateTable(def));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const appender = await conn.createAppender('samples');
  for (const chunk of chunks) appender.appendDataChunk(chunk);
  appender.closeSync(); // flushes and commits
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const n = (await conn.runAndReadAll('SELECT count(*) FROM samples')).getRows()[0]![0];
  if (Number(n) !== rows.length) throw new Error(`ceiling: expected ${rows.length} rows, DuckDB has ${String(n)}`);
  conn.closeSync();
  instance.closeSync();
  return { rate: rows.length / secs, cpuPerM: (cpu.user + cpu.system) / 1e6 / (rows.length / 1e6) };
}

/** The store alone: the same rows, decoded already (as records, or by column), in ingest's batch size. */
async function storeWrite(dir: string, data: Sample[][], byColumn: boolean): Promise<{ rate: number; cpuPerM: number }> {
  const store = new DuckDbStore({ path: join(dir, byColumn ? 'store-columns.duckdb' : 'store.duckdb') });
  await store.start();
  const total = data.reduce((n, b) => n + b.length, 0);
  const segments: Segment[] = byColumn ? data.map((b) => decodeColumns(encode('samples', b), 'samples').segment!) : [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < data.length; i += MESSAGES_PER_BATCH) {
    await store.write('samples', byColumn ? batchOf('samples', segments.slice(i, i + MESSAGES_PER_BATCH)) : data.slice(i, i + MESSAGES_PER_BATCH).flat());
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await store.shutdown();
  return { rate: total / secs, cpuPerM: (cpu.user + cpu.system) / 1e6 / (total / 1e6) };
}

/** Pre-fills a fresh embedded bus (encode v2 + durable append), as collectors would. */
async function prefill(dir: string, data: Sample[][]): Promise<void> {
  const bus = new EmbeddedBus({ dir });
  await bus.start();
  await bus.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
  const producer = bus.producer();
  await producer.start();
  for (let i = 0; i < data.length; i += MESSAGES_PER_SEND) {
    await producer.send('samples', data.slice(i, i + MESSAGES_PER_SEND).map((b) => ({ key: b[0]!.node, value: encode('samples', b) })));
  }
  await producer.shutdown();
  await bus.shutdown();
}

/** A fresh ingest group drains the bus into a fresh DuckDB file; rows/s until counted, CPU-s per M. */
async function drain(busDir: string, dbPath: string, total: number): Promise<{ rate: number; cpuPerM: number }> {
  const bus = new EmbeddedBus({ dir: busDir });
  const store = new DuckDbStore({ path: dbPath });
  await bus.start();
  await store.start();
  const ingest = new Ingest(bus, store, { group: `drain-${Date.now().toString(36)}` });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await ingest.start();
  for (;;) {
    if ((await ingest.lag()) === 0 && Number((await store.query('SELECT count(*) FROM samples')).rows[0]![0]) >= total) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await ingest.shutdown();
  await store.shutdown();
  await bus.shutdown();
  return { rate: total / secs, cpuPerM: (cpu.user + cpu.system) / 1e6 / (total / 1e6) };
}

export async function main(): Promise<void> {
  const total = Number(arg('--samples') ?? 500_000);
  const repeat = Number(arg('--repeat') ?? 2);
  const given = arg('--dir');
  const root = given ?? mkdtempSync(join(tmpdir(), 'isoscope-embedded-drain-'));
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const results: { ceil: number; ceilCpu: number; store: number; storeCpu: number; cols: number; colsCpu: number; rate: number; cpuPerM: number }[] = [];
  try {
    console.log(`embedded drain: ${fmt(total)} samples per figure (messages of ${PER_MESSAGE}, schema v2), ${repeat} repetitions, in ${root}`);
    for (let r = 0; r < repeat; r++) {
      const dir = mkdtempSync(join(root, `rep${r}-`));
      const data = batches(`emb${r}`, total);
      const ceil = await ceiling(dir, data.flat());
      const sw = await storeWrite(dir, data, false);
      const sc = await storeWrite(dir, data, true);
      await prefill(join(dir, 'bus'), data);
      const d = await drain(join(dir, 'bus'), join(dir, 'drain.duckdb'), total);
      results.push({ ceil: ceil.rate, ceilCpu: ceil.cpuPerM, store: sw.rate, storeCpu: sw.cpuPerM, cols: sc.rate, colsCpu: sc.cpuPerM, ...d });
      console.log(`  #${r + 1}  DuckDB ceiling (pre-built chunks, Appender) ${fmt(ceil.rate)} rows/s, ${ceil.cpuPerM.toFixed(2)} CPU-s per M   store.write records ${fmt(sw.rate)} rows/s, ${sw.cpuPerM.toFixed(2)} CPU-s per M, by column ${fmt(sc.rate)} rows/s, ${sc.cpuPerM.toFixed(2)} CPU-s per M   embedded drain ${fmt(d.rate)} rows/s = ${((d.rate / ceil.rate) * 100).toFixed(0)}% of the ceiling, ${d.cpuPerM.toFixed(2)} CPU-s per M samples (${fmt(1e6 / d.cpuPerM)} rows per CPU-second) (load average ${loadavg()[0]!.toFixed(1)})`);
      rmSync(dir, { recursive: true, force: true });
    }
    const span = (xs: number[], f: (n: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
    console.log(`  spread: ceiling ${span(results.map((x) => x.ceil), fmt)} rows/s; store.write records ${span(results.map((x) => x.store), fmt)} rows/s, by column ${span(results.map((x) => x.cols), fmt)} rows/s; drain ${span(results.map((x) => x.rate), fmt)} rows/s = ${span(results.map((x) => (x.rate / x.ceil) * 100), (n) => n.toFixed(0))}% of the ceiling (goal: ≥ 200,000 rows/s); CPU ${span(results.map((x) => x.cpuPerM), (n) => n.toFixed(2))} s per M samples (ceiling ${span(results.map((x) => x.ceilCpu), (n) => n.toFixed(2))})`);
  } finally {
    if (!given) rmSync(root, { recursive: true, force: true });
  }
}

await main();
