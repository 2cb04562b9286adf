/**
 * The embedded parts against their floors, measured in the same run on the same disk:
 *  - embedded bus append (1 KiB messages, sends of 100) vs raw write + fdatasync of the same bytes;
 *    once with one send in flight (one sync per send) and once with 16 (group commit);
 *  - DuckDB store `write` of samples (batches of 5000: data chunks, dedup checked over the batch's ts
 *    range) vs a plain row-by-row Appender into the same table, plus the rejected alternative
 *    (prepared multi-row INSERT OR REPLACE into a table with the dedup keys as primary key) on a few
 *    batches, for the record. bench/embedded-drain.bench.ts measures the whole embedded path.
 *
 *   npm run build && node dist/bench/embedded.bench.js [dir]   # dir: where to write, default a temp dir
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance, DuckDBTimestampNanosecondsValue, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { validate } from '../schema/codec.js';
import { duckdbCreateTable } from '../schema/ddl/duckdb.js';
import { definitionOf, type Sample } from '../schema/records.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { appendField } from '../store/duckdb/values.js';

const MESSAGE_BYTES = 1024;
const PER_SEND = 100;
const PHASE_MS = 4000;
const ROWS_PER_BATCH = 5000;
const BATCHES = 20;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs `step` from `concurrency` loops until the phase time is up; returns steps per second. */
async function timed(concurrency: number, step: () => Promise<void>): Promise<number> {
  let steps = 0;
  const t0 = performance.now();
  const end = t0 + PHASE_MS;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await step();
      steps++;
    }
  }));
  return steps / ((performance.now() - t0) / 1000);
}

async function rawAppend(dir: string): Promise<number> {
  const handle = await open(join(dir, 'raw.bin'), 'w');
  const chunk = Buffer.alloc(PER_SEND * MESSAGE_BYTES, 7);
  let position = 0;
  try {
    return await timed(1, async () => {
      await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
      await handle.datasync();
    });
  } finally {
    await handle.close();
  }
}

async function busAppend(dir: string, concurrency: number): Promise<{ sendsPerS: number; syncs: number }> {
  const bus = new EmbeddedBus({ dir });
  await bus.ensureTopics(['bench']);
  const producer = bus.producer();
  const batch = Array.from({ length: PER_SEND }, (_, i) => ({ key: 'node1', value: Buffer.alloc(MESSAGE_BYTES, i % 256) }));
  const sendsPerS = await timed(concurrency, () => producer.send('bench', batch));
  const { syncs } = bus.topicLog('bench').stats;
  await bus.shutdown();
  return { sendsPerS, syncs };
}

function sampleBatches(): Sample[][] {
  return Array.from({ length: BATCHES }, (_, seq) => {
    const ts = 1_795_537_485_066_456_789n + BigInt(seq) * 1_000_000_000n;
    return validate('samples', Array.from({ length: ROWS_PER_BATCH }, (_, idx) => ({
      ts, node: 'lab-node-07', collector: 'lab-node-07/perf+procfs', seq, idx, source: idx % 2 ? 'perf' : 'procfs',
      metric: ['cpu.user', 'cpu.system', 'cycles', 'instructions'][idx % 4]!, value: Math.random() * 1e9, cpu: idx % 64, run: 'r1',
      ...(idx % 7 === 0 ? { cgroup: '/isoscope/partition-1' } : {}),
    })));
  });
}

async function rowsPerS(batches: Sample[][], write: (b: Sample[]) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (const b of batches) await write(b);
  return (batches.length * ROWS_PER_BATCH) / ((performance.now() - t0) / 1000);
}

async function plainAppender(dir: string, batches: Sample[][]): Promise<number> {
  const instance = await DuckDBInstance.create(join(dir, 'plain.duckdb'));
  const conn = await instance.connect();
  const def = definitionOf('samples');
  await conn.run(duckdbCreateTable(def));
  const columns = Object.entries(def.columns);
  const rate = await rowsPerS(batches, async (batch) => {
    const appender = await conn.createAppender('samples');
    for (const r of batch) {
      for (const [name, spec] of columns) appendField(appender, spec, (r as Record<string, unknown>)[name]);
      appender.endRow();
    }
    appender.closeSync(); // flushes and commits
  });
  conn.closeSync();
  instance.closeSync();
  return rate;
}

/** The rejected approach: INSERT OR REPLACE with a prepared statement of 500 rows of parameters. */
async function preparedInsert(dir: string, batches: Sample[][]): Promise<number> {
  const instance = await DuckDBInstance.create(join(dir, 'prepared.duckdb'));
  const conn = await instance.connect();
  const def = definitionOf('samples');
  await conn.run(duckdbCreateTable(def).replace(/\n\);.*$/s, `,\n  PRIMARY KEY (${def.dedupKeys.join(', ')}))`));
  const columns = Object.entries(def.columns);
  const rows = 500;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const statement: DuckDBPreparedStatement = await conn.prepare(`INSERT OR REPLACE INTO samples VALUES ${Array(rows).fill(tuple).join(', ')}`);
  const rate = await rowsPerS(batches, async (batch) => {
    await conn.run('BEGIN');
    for (let i = 0; i < batch.length; i += rows) {
      let p = 1;
      for (const r of batch.slice(i, i + rows)) {
        for (const [name, spec] of columns) {
          const v = (r as Record<string, unknown>)[name];
          if (v === null || v === undefined) statement.bindNull(p++);
          else if (spec.kind === 'timestamp') statement.bindTimestampNanoseconds(p++, new DuckDBTimestampNanosecondsValue(v as bigint));
          else if (spec.kind === 'long') statement.bindBigInt(p++, BigInt(v as number));
          else if (spec.kind === 'int') statement.bindInteger(p++, v as number);
          else if (spec.kind === 'double') statement.bindDouble(p++, v as number);
          else statement.bindVarchar(p++, String(v));
        }
      }
      await statement.run();
    }
    await conn.run('COMMIT');
  });
  conn.closeSync();
  instance.closeSync();
  return rate;
}

export async function main(dir?: string): Promise<void> {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'isoscope-bench-'));
  try {
    const mb = (sends: number) => (sends * PER_SEND * MESSAGE_BYTES) / 1e6;
    console.log(`embedded bus: ${MESSAGE_BYTES}-byte messages, sends of ${PER_SEND}, ${PHASE_MS / 1000} s per figure, in ${root}`);
    const raw = await rawAppend(root);
    console.log(`  raw write+fdatasync of ${PER_SEND} KiB       ${fmt(raw * PER_SEND)} messages/s  ${fmt(mb(raw), 1)} MB/s`);
    const one = await busAppend(join(root, 'bus1'), 1);
    console.log(`  bus, 1 send in flight              ${fmt(one.sendsPerS * PER_SEND)} messages/s  ${fmt(mb(one.sendsPerS), 1)} MB/s`);
    const many = await busAppend(join(root, 'bus16'), 16);
    console.log(`  bus, 16 sends in flight            ${fmt(many.sendsPerS * PER_SEND)} messages/s  ${fmt(mb(many.sendsPerS), 1)} MB/s  (${fmt((many.sendsPerS * PHASE_MS) / 1000 / many.syncs, 1)} sends per fdatasync)`);
    console.log(`  comparison: 1 in flight = ${fmt((one.sendsPerS / raw) * 100)}% of raw; 16 in flight = ${fmt(many.sendsPerS / raw, 1)}× raw`);

    const batches = sampleBatches();
    console.log(`DuckDB: samples in batches of ${ROWS_PER_BATCH}, file-backed in the same directory`);
    const store = new DuckDbStore({ path: join(root, 'store.duckdb') });
    await store.start();
    const storeRate = await rowsPerS(batches, (b) => store.write('samples', b));
    const replayRate = await rowsPerS(batches.slice(0, 5), (b) => store.write('samples', b));
    await store.shutdown();
    console.log(`  store.write (chunks, dedup check)          ${fmt(storeRate)} rows/s; replaying existing keys ${fmt(replayRate)} rows/s`);
    const plain = await plainAppender(root, batches);
    console.log(`  plain Appender, row by row                 ${fmt(plain)} rows/s`);
    const prepared = await preparedInsert(root, batches.slice(0, 2));
    console.log(`  rejected: prepared INSERT OR REPLACE       ${fmt(prepared)} rows/s (2 batches)`);
    console.log(`  comparison: store.write = ${fmt((storeRate / plain) * 100)}% of the plain Appender; ${fmt(storeRate / prepared, 1)}× the prepared INSERT`);
  } finally {
    if (!dir) rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv[2]);
