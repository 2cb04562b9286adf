/**
 * The DuckDB implementation of Store (embedded mode), on @duckdb/node-api. A `write` is one
 * transaction: the records go column by column into data chunks (chunks.ts) appended straight to
 * the record table, and one aggregate over the batch's ts range checks that no key is there twice;
 * if one is (a replay), that transaction is rolled back and the batch goes through a TEMP staging
 * table that replaces the older copies (`replace`). DuckDB appends the commit to its WAL and fsyncs
 * it before the commit returns, so a resolved write is durable. Tables created by earlier versions have the dedup keys as PRIMARY KEY
 * and are written with `INSERT OR REPLACE` instead (docs/DECISIONS.md, "Embedded path"). User SQL runs on its own connection
 * in a READ ONLY transaction after the statement guard (read-only.ts), with file access turned
 * off for the whole database once its own file is open.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { componentLogger } from '../../core/logger.js';
import { duckdbSchema } from '../../schema/ddl/duckdb.js';
import { quoteIdent } from '../../schema/ddl/quote.js';
import { sliceBatch, timestampsOf, toRecords, type ColumnBatch } from '../../schema/column-batch.js';
import { definitionOf, type RecordName, type RecordOf } from '../../schema/records.js';
import type { QueryOptions, QueryResult, Store } from '../store.js';
import { parseDuckDbStoreOptions, type DuckDbStoreOptions } from './config.js';
import { explainFileAccess, prepareReadOnly } from './read-only.js';
import { CHUNK_ROWS, ChunkWriter } from './chunks.js';
import { lastPerKey, toJsonValue } from './values.js';

export class DuckDbStore implements Store {
  readonly kind = 'duckdb' as const;
  readonly path: string;
  private instance: DuckDBInstance | null = null;
  private writer: DuckDBConnection | null = null;
  private starting: Promise<void> | null = null;
  /** Writes are serialised on the one writer connection. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly plans = new Map<RecordName, WritePlan>();
  private readonly queries = new Set<DuckDBConnection>();
  private readonly log = componentLogger('store.duckdb');

  /** @example new DuckDbStore({ path: './data/isoscope.duckdb' }) */
  constructor(options: DuckDbStoreOptions) {
    this.path = parseDuckDbStoreOptions(options).path;
  }

  /** Opens the database, creates the tables, then locks file access and settings down. Idempotent. */
  start(): Promise<void> {
    this.starting ??= this.open().catch((err: unknown) => {
      this.starting = null;
      throw err;
    });
    return this.starting;
  }

  async ensureTables(): Promise<void> {
    const writer = this.requireWriter();
    for (const ddl of Object.values(duckdbSchema())) await writer.run(ddl);
  }

  write<N extends RecordName>(name: N, records: RecordOf<N>[] | ColumnBatch<N>): Promise<void> {
    const next = this.queue.then(() => this.writeNow(name, records as unknown as Rows));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult & { truncated: boolean }> {
    if (!this.instance) throw new Error(`the DuckDB store ${this.path} is not started`);
    const limit = options.limit ?? 10_000;
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`invalid query limit ${limit}: expected a whole number of rows, 0 or more`);
    if (!(timeoutMs > 0)) throw new Error(`invalid query timeout ${timeoutMs}: expected a positive number of milliseconds`);
    const connection = await this.instance.connect();
    this.queries.add(connection);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, timeoutMs);
    try {
      await connection.run('BEGIN TRANSACTION READ ONLY'); // second line of defence behind the guard
      const prepared = await prepareReadOnly(connection, sql);
      const reader = await prepared.streamAndReadUntil(limit + 1);
      const columns = reader.columnNames().map((name, i) => ({ name, type: reader.columnType(i).toString() }));
      const rows = reader.convertRows(toJsonValue);
      return { columns, rows: rows.slice(0, limit), truncated: rows.length > limit };
    } catch (err) {
      if (timedOut) throw new Error(`the query was cancelled because it ran longer than its timeout of ${timeoutMs} ms`);
      if (!this.instance) throw new Error(`the query was cancelled because the DuckDB store ${this.path} shut down`);
      throw explainFileAccess(err);
    } finally {
      clearTimeout(timer);
      this.queries.delete(connection);
      connection.closeSync();
    }
  }

  /** Waits for queued writes, cancels running queries, and closes the database. Idempotent. */
  async shutdown(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.queue.catch(() => undefined);
    for (const q of this.queries) q.interrupt();
    this.writer?.closeSync();
    this.instance?.closeSync();
    this.writer = this.instance = null;
    this.starting = null;
    this.plans.clear();
  }

  private async open(): Promise<void> {
    if (this.path !== ':memory:') await mkdir(dirname(this.path), { recursive: true });
    try {
      // No extension is ever fetched or loaded behind our back (user SQL could otherwise trigger it).
      this.instance = await DuckDBInstance.create(this.path, { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    } catch (err) {
      const message = (err as Error).message;
      if (/lock/i.test(message)) {
        throw new Error(`the DuckDB database ${this.path} is in use by another process (${message.split('\n')[0]}); while \`isoscope up\` runs, query through it (\`isoscope sql\` does so)`);
      }
      throw new Error(`cannot open the DuckDB database ${this.path}: ${message}`);
    }
    try {
      this.writer = await this.instance.connect();
      await this.ensureTables();
      // From here on no statement on any connection may touch files or change settings.
      await this.writer.run('SET enable_external_access = false');
      await this.writer.run('SET lock_configuration = true');
      this.log.debug({ path: this.path }, `The DuckDB store ${this.path} is open.`);
    } catch (err) {
      this.writer?.closeSync();
      this.instance.closeSync();
      this.writer = this.instance = null;
      throw new Error(`cannot prepare the DuckDB database ${this.path}: ${(err as Error).message}`);
    }
  }

  private requireWriter(): DuckDBConnection {
    if (!this.writer) throw new Error(`the DuckDB store ${this.path} is not started`);
    return this.writer;
  }

  private async writeNow(name: RecordName, input: Rows): Promise<void> {
    const writer = this.requireWriter();
    if (countOf(input) === 0) return;
    const plan = await this.planFor(writer, name);
    try {
      if (plan.primaryKey) {
        // A table from an earlier isoscope: its index refuses a key twice in one statement.
        const records = Array.isArray(input) ? input : toRecords(input as ColumnBatch);
        await this.inTransaction(writer, plan, async () => {
          await this.append(writer, plan, true, lastPerKey(records as Record<string, unknown>[], plan.keys));
          await writer.run(`INSERT OR REPLACE INTO ${plan.table} SELECT * FROM ${plan.stage}`);
        });
        return;
      }
      // The usual case, no key written before: the rows go straight into the table, and one
      // aggregate over the batch's ts range (the zone maps skip every other row group) proves it.
      let fresh = false;
      await this.inTransaction(writer, plan, async () => {
        await this.append(writer, plan, false, input);
        fresh = (await this.repeatedKeys(writer, plan, timestamps(input))) === 0n;
        if (!fresh) throw ROLL_BACK;
      }).catch((err: unknown) => {
        if (err !== ROLL_BACK) throw err;
      });
      if (!fresh) await this.inTransaction(writer, plan, () => this.replace(writer, plan, input));
    } catch (err) {
      throw new Error(`writing ${countOf(input)} ${name} records to the DuckDB database ${this.path} failed: ${(err as Error).message}`);
    }
  }

  /** Runs `body` in one transaction; rolls back (and empties the stage) when it throws. */
  private async inTransaction(writer: DuckDBConnection, plan: WritePlan, body: () => Promise<void>): Promise<void> {
    await writer.run('BEGIN TRANSACTION');
    try {
      await body();
      await writer.run(`DELETE FROM ${plan.stage}`);
      await writer.run('COMMIT');
    } catch (err) {
      await writer.run('ROLLBACK').catch(() => undefined);
      await writer.run(`DELETE FROM ${plan.stage}`).catch(() => undefined);
      throw err;
    }
  }

  /** Appends records (objects or columns) as data chunks, to the record table or to its TEMP staging table. */
  private async append(writer: DuckDBConnection, plan: WritePlan, staged: boolean, records: Rows): Promise<void> {
    const appender = staged ? await writer.createAppender(plan.stageName, 'main', 'temp') : await writer.createAppender(plan.name, 'main');
    try {
      const total = countOf(records);
      for (let from = 0; from < total; from += CHUNK_ROWS) {
        const to = Math.min(total, from + CHUNK_ROWS);
        if (Array.isArray(records)) plan.chunks.append(appender, records, from, to);
        else plan.chunks.appendColumns(appender, sliceBatch(records as ColumnBatch, from, to), from);
      }
      appender.flushSync();
    } catch (err) {
      appender.clear();
      throw err;
    } finally {
      appender.closeSync();
    }
  }

  /** Keys present more than once in the table within [lo, hi] (the batch just appended included). */
  private async repeatedKeys(writer: DuckDBConnection, plan: WritePlan, ts: Timestamps): Promise<bigint> {
    // The range lets the zone maps skip row groups; the list of the batch's own timestamps (a
    // collector batch shares one) keeps the aggregate to rows that can match, so a batch spanning
    // hours (a spool replayed beside live data) does not aggregate every row in between.
    const exact = ts.distinct.size <= MAX_TS_LIST ? ` AND "ts" IN (${[...ts.distinct].map((t) => `make_timestamp_ns(${t}::BIGINT)`).join(', ')})` : '';
    const r = await writer.runAndReadAll(`SELECT count(*) FROM (SELECT 1 FROM ${plan.table} WHERE ${plan.tsBetween(ts.lo, ts.hi)}${exact} GROUP BY ${plan.keyList} HAVING count(*) > 1)`);
    return r.getRows()[0]![0] as bigint;
  }

  /**
   * The replay path: the batch is staged, keeps the last of each of its keys, the table's older
   * copies of those keys are deleted, and the staged rows inserted: the last write of a key wins,
   * as with QuestDB's DEDUP UPSERT KEYS and the former INSERT OR REPLACE.
   */
  private async replace(writer: DuckDBConnection, plan: WritePlan, records: Rows): Promise<void> {
    await this.append(writer, plan, true, records);
    await writer.run(`DELETE FROM ${plan.stage} WHERE rowid NOT IN (SELECT max(rowid) FROM ${plan.stage} GROUP BY ${plan.keyList})`);
    const [lo, hi] = tsRange(records);
    await writer.run(`DELETE FROM ${plan.table} s USING ${plan.stage} st WHERE ${plan.tsBetween(lo, hi, 's.')} AND ${plan.keyMatch}`);
    await writer.run(`INSERT INTO ${plan.table} SELECT * FROM ${plan.stage}`);
  }

  /** Per record type, once: its staging table, whether the table has the old primary key, the chunk writer. */
  private async planFor(writer: DuckDBConnection, name: RecordName): Promise<WritePlan> {
    let plan = this.plans.get(name);
    if (plan) return plan;
    const def = definitionOf(name);
    const stage = quoteIdent(`isoscope_stage_${name}`);
    await writer.run(`CREATE TEMP TABLE IF NOT EXISTS ${stage} AS SELECT * FROM main.${quoteIdent(name)} LIMIT 0`);
    const pk = await writer.runAndReadAll(`SELECT count(*) FROM duckdb_constraints() WHERE schema_name = 'main' AND table_name = '${name}' AND constraint_type = 'PRIMARY KEY'`);
    plan = {
      name,
      table: `main.${quoteIdent(name)}`,
      stageName: `isoscope_stage_${name}`,
      stage,
      tsBetween: (lo, hi, alias = '') => `${alias}"ts" BETWEEN make_timestamp_ns(${lo}::BIGINT) AND make_timestamp_ns(${hi}::BIGINT)`,
      keys: def.dedupKeys,
      keyList: def.dedupKeys.map(quoteIdent).join(', '),
      keyMatch: def.dedupKeys.map((k) => `s.${quoteIdent(k)} = st.${quoteIdent(k)}`).join(' AND '),
      primaryKey: (pk.getRows()[0]![0] as bigint) > 0n,
      chunks: new ChunkWriter(Object.entries(def.columns)),
    };
    this.plans.set(name, plan);
    return plan;
  }
}

/** Thrown inside a transaction to roll it back without an error. */
const ROLL_BACK = Symbol('roll back');

/** Records as ingest hands them: objects, or by column (its hot path for samples). */
type Rows = readonly Record<string, unknown>[] | ColumnBatch;

function countOf(rows: Rows): number {
  return Array.isArray(rows) ? rows.length : (rows as ColumnBatch).n;
}

/** The smallest and largest `ts` of records (the dedup keys of every record type include ts). */
function tsRange(records: Rows): [bigint, bigint] {
  const { lo, hi } = timestamps(records, 0);
  return [lo, hi];
}

/** Distinct timestamps listed in the dedup check at most (beyond, the range alone). */
const MAX_TS_LIST = 1024;

interface Timestamps {
  lo: bigint;
  hi: bigint;
  /** The distinct values, up to MAX_TS_LIST + 1 (more: too many to list). */
  distinct: Set<bigint>;
}

function timestamps(rows: Rows, listUpTo = MAX_TS_LIST): Timestamps {
  if (!Array.isArray(rows)) return timestampsOf(rows as ColumnBatch, 'ts', listUpTo);
  const records = rows as readonly Record<string, unknown>[];
  let lo = records[0]!.ts as bigint;
  let hi = lo;
  let prev: bigint | null = null;
  const distinct = new Set<bigint>();
  for (let i = 0; i < records.length; i++) {
    const t = records[i]!.ts as bigint;
    if (t < lo) lo = t;
    else if (t > hi) hi = t;
    if (t !== prev && distinct.size <= listUpTo) distinct.add(t); // runs of one ts cost one Set lookup
    prev = t;
  }
  return { lo, hi, distinct };
}

interface WritePlan {
  name: RecordName;
  table: string;
  stageName: string;
  stage: string;
  tsBetween: (lo: bigint, hi: bigint, alias?: string) => string;
  keys: readonly string[];
  keyList: string;
  keyMatch: string;
  /** The table has the dedup keys as PRIMARY KEY (created by an earlier isoscope): INSERT OR REPLACE. */
  primaryKey: boolean;
  chunks: ChunkWriter;
}
