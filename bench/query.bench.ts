/**
 * The query service's costs, each judged against the obvious alternative in the same run:
 * 1. result formats: encoding a 100,000-row samples result as CSV, Arrow IPC and Parquet, against
 *    JSON (rows/s and bytes);
 * 2. aligned series on DuckDB: our integer-arithmetic t_rel bucketing (query/sql/series-sql.ts)
 *    against DuckDB's own calendar-aligned `time_bucket` over the same rows.
 *
 *   npm run build && node dist/bench/query.bench.js
 */
import { toArrowStream } from '../query/formats/arrow.js';
import { toCsv } from '../query/formats/csv.js';
import { toParquet } from '../query/formats/parquet.js';
import { toJson } from '../query/json.js';
import { duckdb } from '../query/sql/dialect.js';
import { seriesSql } from '../query/sql/series-sql.js';
import { RECORDS, type RecordOf } from '../schema/records.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';

const ROWS = 100_000;
const S = 1_000_000_000n;

async function time<T>(fn: () => Promise<T> | T, rounds = 3): Promise<{ s: number; value: T }> {
  let value = await fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) value = await fn();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9 / rounds, value };
}

export async function main(): Promise<void> {
  const store = new DuckDbStore({ path: ':memory:' });
  await store.start();
  const start = 1_795_000_000n * S;
  const runs = ['bench-a', 'bench-b'];
  for (const [r, run] of runs.entries()) {
    const records: RecordOf<'samples'>[] = [];
    for (let i = 0; i < ROWS; i++) {
      records.push(RECORDS.samples.schema.parse({ ts: start + BigInt(r) * 3600n * S + BigInt(i) * 10_000_000n, node: `n${i % 4}`, collector: `n${i % 4}/perf`, seq: Math.floor(i / 100), idx: i % 100, source: 'perf', metric: 'cycles', value: (i * 7919) % 1e6, cpu: i % 8, run }));
    }
    await store.write('samples', records);
  }
  const result = await store.query(`SELECT * FROM samples WHERE run = 'bench-a'`, { limit: ROWS });
  console.log(`query formats: ${result.rows.length} rows × ${result.columns.length} columns`);
  const json = await time(() => Buffer.from(toJson(result)));
  const report = (label: string, t: { s: number; value: { length: number } }) =>
    console.log(`  ${label.padEnd(8)} ${(ROWS / t.s / 1e3).toFixed(0).padStart(6)} k rows/s  ${(t.value.length / 1e6).toFixed(1).padStart(5)} MB  (${(json.s / t.s).toFixed(2)}× JSON's speed)`);
  report('JSON', json);
  report('CSV', await time(() => toCsv(result)));
  report('Arrow', await time(() => toArrowStream(result)));
  report('Parquet', await time(() => toParquet(result)));

  const starts = new Map(runs.map((run, r) => [run, start + BigInt(r) * 3600n * S]));
  const ours = seriesSql(duckdb, { metric: 'cycles', starts, stepNs: 10n * S, by: ['node'], agg: 'avg' });
  const calendar = `SELECT run, node, time_bucket(INTERVAL 10 SECOND, ts) AS bucket, avg(value) AS value, count(*) AS n FROM samples WHERE run IN ('bench-a', 'bench-b') AND metric = 'cycles' GROUP BY run, node, bucket ORDER BY run, node, bucket`;
  const a = await time(() => store.query(ours, { limit: 1_000_000 }), 5);
  const b = await time(() => store.query(calendar, { limit: 1_000_000 }), 5);
  console.log(`aligned series on DuckDB, ${2 * ROWS} samples, 10 s buckets per run and node:`);
  console.log(`  t_rel integer bucketing (ours) ${(a.s * 1e3).toFixed(1)} ms, ${a.value.rows.length} buckets`);
  console.log(`  time_bucket (calendar)        ${(b.s * 1e3).toFixed(1)} ms, ${b.value.rows.length} buckets`);
  console.log(`  comparison: ours takes ${(a.s / b.s).toFixed(2)}× the time of time_bucket`);
  await store.shutdown();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
