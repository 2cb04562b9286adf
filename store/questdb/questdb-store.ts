/**
 * The QuestDB implementation of Store (cluster mode): rows go in over ILP/HTTP, written by our own
 * ILP encoder (ilp-text.ts; the official client was the ceiling, docs/DECISIONS.md) in requests of
 * at most ILP_ROWS_PER_REQUEST rows, ILP_REQUESTS_IN_FLIGHT at once (each request one transaction,
 * acknowledged once committed to the WAL; `write` resolves when all its requests were), DDL and
 * queries go over PG wire. User SQL runs as QuestDB's read-only user, so QuestDB itself refuses
 * anything that would change data, whatever the statement's spelling.
 */
import pg from 'pg';
import { PermanentError, isPermanent } from '../../core/errors.js';
import { componentLogger } from '../../core/logger.js';
import { questdbSchema } from '../../schema/ddl/questdb.js';
import type { ColumnBatch } from '../../schema/column-batch.js';
import type { RecordName, RecordOf } from '../../schema/records.js';
import type { QueryOptions, QueryResult, Store } from '../store.js';
import type { QuestDbStoreOptions } from './config.js';
import { IlpHttpWriter } from './ilp-http.js';
import { pgTypes } from './pg-values.js';
import { assertReadOnly } from './read-only.js';

/** Rows per ILP/HTTP request (~2.5 MB of ILP for samples): bounded so one request never outlives its timeout. */
export const ILP_ROWS_PER_REQUEST = 20_000;
/** ILP requests open at once (QuestDB's ceiling was measured with 2: bench/ingest-drain.bench.ts). */
export const ILP_REQUESTS_IN_FLIGHT = 2;

export class QuestDbStore implements Store {
  readonly kind = 'questdb' as const;
  private writer: IlpHttpWriter | null = null;
  private admin: pg.Pool | null = null;
  private reader: pg.Pool | null = null;
  /** Writes still running (shutdown waits for them). */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly log = componentLogger('store.questdb');

  constructor(private readonly options: QuestDbStoreOptions) {}

  async start(): Promise<void> {
    if (this.writer) return;
    const [host, port] = splitHostPort(this.options.pg);
    const base = { host, port, database: 'qdb', types: pgTypes, max: 4, connectionTimeoutMillis: 10_000 };
    const createTables = this.options.createTables ?? true;
    // Without table creation the admin user is never used: its password need not be given at all.
    if (createTables) this.admin = new pg.Pool({ ...base, user: this.options.user ?? 'admin', password: this.options.password ?? 'quest' });
    this.reader = new pg.Pool({
      ...base,
      user: this.options.readonlyUser ?? this.options.user ?? 'admin',
      password: this.options.readonlyPassword ?? this.options.password ?? 'quest',
    });
    this.admin?.on('error', (err) => this.log.warn({ err }, 'An idle QuestDB admin connection failed.'));
    if ((this.options.readonlyUser ?? this.options.user ?? 'admin') === (this.options.user ?? 'admin')) {
      this.log.warn('No read-only QuestDB user is configured (questdb.readonlyUser): user SQL is guarded by the statement check only.');
    }
    this.reader.on('error', (err) => this.log.warn({ err }, 'An idle QuestDB reader connection failed.'));
    try {
      // Either way a QuestDB that is away or refuses the login fails the start, not the first query.
      if (createTables) await this.ensureTables();
      else await this.reader.query('SELECT 1');
    } catch (err) {
      await this.shutdown();
      const what = createTables ? 'prepare QuestDB tables' : `reach QuestDB as ${this.options.readonlyUser ?? this.options.user ?? 'admin'} (questdb.createTables is false)`;
      throw new Error(`cannot ${what} at ${this.options.pg}: ${(err as Error).message}. Is QuestDB running (\`isoscope services start\`)?`);
    }
    this.writer = new IlpHttpWriter({
      http: this.options.http,
      rowsPerRequest: ILP_ROWS_PER_REQUEST,
      inFlight: this.options.requestsInFlight ?? ILP_REQUESTS_IN_FLIGHT,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
    });
  }

  async ensureTables(): Promise<void> {
    if (!this.admin) throw new Error('this QuestDB store was started with createTables false: it has no admin connection to create tables with');
    for (const sql of Object.values(questdbSchema())) await this.admin!.query(sql);
  }

  write<N extends RecordName>(name: N, records: RecordOf<N>[] | ColumnBatch<N>): Promise<void> {
    if (!this.writer) return Promise.reject(new Error('QuestDB store is not started'));
    const count = Array.isArray(records) ? records.length : (records as ColumnBatch<N>).n;
    if (count === 0) return Promise.resolve();
    // Bounded requests: one Kafka fetch can hold hundreds of thousands of rows (gzip'ed JSON).
    // Each request is one transaction; a retried write rewrites every request and dedup absorbs it.
    const run = this.writer.write(name, records as unknown as Record<string, unknown>[] | ColumnBatch).catch((err: unknown) => {
      if (isPermanent(err)) throw new PermanentError(`QuestDB refused ${count} ${name} rows: ${(err as Error).message}`);
      throw err;
    });
    this.pending.add(run);
    void run.catch(() => undefined).finally(() => this.pending.delete(run));
    return run;
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult & { truncated: boolean }> {
    if (!this.reader) throw new Error('QuestDB store is not started');
    assertReadOnly(sql);
    const limit = options.limit ?? 10_000;
    const client = await this.reader.connect();
    try {
      const res = await client.query({ text: sql.trim().replace(/;+\s*$/, ''), rowMode: 'array', query_timeout: options.timeoutMs ?? 30_000 } as pg.QueryConfig);
      const rows = (res.rows as unknown[][]) ?? [];
      return {
        columns: (res.fields ?? []).map((f) => ({ name: f.name, type: pgTypeName(f.dataTypeID) })),
        rows: rows.slice(0, limit),
        truncated: rows.length > limit,
      };
    } finally {
      client.release();
    }
  }

  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.writer?.close();
    this.writer = null;
    await Promise.all([this.admin?.end(), this.reader?.end()].map((p) => p?.catch(() => undefined)));
    this.admin = this.reader = null;
  }
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}

const PG_TYPE_NAMES: Record<number, string> = { 16: 'boolean', 20: 'bigint', 21: 'smallint', 23: 'integer', 25: 'text', 700: 'real', 701: 'double', 1042: 'char', 1043: 'varchar', 1114: 'timestamp', 1184: 'timestamptz', 18: 'char', 1700: 'numeric', 2950: 'uuid', 17: 'bytea' };
function pgTypeName(oid: number): string {
  return PG_TYPE_NAMES[oid] ?? `oid:${oid}`;
}
