/**
 * Fault-injection harness: a Kafka + QuestDB pair of its own (the tests stop and restart them, so they
 * must not be the pair other test files share), the compiled CLI as child processes (ingest is killed
 * with SIGKILL like a crashed process, loadgen drives the real producer path), and the exact check of
 * what a load generator run must have left in QuestDB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { LoadgenReport } from '../../loadgen/loadgen.js';
import { startServices, stopServices } from '../../services/manager.js';
import type { ServicesState } from '../../services/state.js';
import { servicesEnv } from '../../test/services.js';

export const BIN = new URL('../../bin/isoscope.js', import.meta.url).pathname;

export interface FaultServices {
  stateDir: string;
  state: ServicesState;
  /** Environment for CLI children: the pair's addresses, a 6 s consumer session (so a killed ingest's partitions move on quickly). */
  env: Record<string, string>;
  /** Runs `fn` on a fresh admin PG connection (QuestDB is restarted by some tests, so none is kept). */
  withDb<T>(fn: (db: pg.Client) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startFaultServices(): Promise<FaultServices> {
  const stateDir = mkdtempSync(join(tmpdir(), 'isoscope-faults-'));
  const { state } = await startServices({ stateDir, timeoutMs: 120_000, log: (l) => process.stderr.write(`[fault services] ${l}\n`) });
  const [host, port] = state.questdb.pg.split(':');
  const withDb = async <T>(fn: (db: pg.Client) => Promise<T>): Promise<T> => {
    const db = new pg.Client({ host, port: Number(port), user: state.questdb.user, password: state.questdb.password, database: 'qdb' });
    db.on('error', () => undefined);
    await db.connect();
    try {
      return await fn(db);
    } finally {
      await db.end().catch(() => undefined);
    }
  };
  return {
    stateDir,
    state,
    // ISOSCOPE_DEBUG: a child that fails prints its stack, not only the message (the Kafka-restart
    // test failed once in a clean-clone CI with a message only, and was not reproduced).
    env: { ...servicesEnv(state), ISOSCOPE_KAFKA_SESSION_TIMEOUT_MS: '6000', ISOSCOPE_LOG_LEVEL: 'warn', ISOSCOPE_DEBUG: '1', ISOSCOPE_DATA_DIR: join(stateDir, 'data') },
    withDb,
    close: async () => {
      await stopServices(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every child still running (call from afterEach: a failed test must leave none behind). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

/** Runs `isoscope ...args` with `env`; output (stdout+stderr) is kept for failure messages. */
export function isoscope(args: string[], env: Record<string, string>, cwd: string): Child {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => out, exited };
}

/** The JSON report a `loadgen --json` child printed (its last stdout line). */
export function loadgenReport(child: Child): LoadgenReport {
  const line = child.output().trim().split('\n').reverse().find((l) => l.startsWith('{"plan"'));
  if (!line) throw new Error(`loadgen printed no JSON report:\n${child.output().slice(-3000)}`);
  return JSON.parse(line) as LoadgenReport;
}

export interface CollectorCheck {
  collector: string;
  rows: number;
  distinctValues: number;
  sum: number;
  min: number;
  max: number;
  /** Rows whose cpu or metric does not follow from their value (see collectors/synthetic). */
  inconsistent: number;
}

/** What QuestDB holds for each collector of a loadgen run. */
export async function checkCollectors(db: pg.Client, collectors: string[]): Promise<CollectorCheck[]> {
  const list = collectors.map((c) => `'${c.replace(/'/g, "''")}'`).join(',');
  const agg = await db.query(
    `SELECT collector, count() n, sum(value) s, min(value) lo, max(value) hi,
            sum(CASE WHEN cpu != cast(value AS long) % 4 OR metric != concat('loadgen_', cast(value AS long) % 8) THEN 1 ELSE 0 END) bad
     FROM samples WHERE collector IN (${list}) GROUP BY collector`,
  );
  const distinct = await db.query(`SELECT collector, count() n FROM (SELECT DISTINCT collector, value FROM samples WHERE collector IN (${list})) GROUP BY collector`);
  const distinctBy = new Map(distinct.rows.map((r: { collector: string; n: string }) => [r.collector, Number(r.n)]));
  return collectors.map((collector) => {
    const r = agg.rows.find((x: { collector: string }) => x.collector === collector) as { n: string; s: number; lo: number; hi: number; bad: string } | undefined;
    return {
      collector,
      rows: Number(r?.n ?? 0),
      distinctValues: distinctBy.get(collector) ?? 0,
      sum: Number(r?.s ?? 0),
      min: Number(r?.lo ?? NaN),
      max: Number(r?.hi ?? NaN),
      inconsistent: Number(r?.bad ?? 0),
    };
  });
}

/** The check each collector of `report` must pass: every sample exactly once, with its own values. */
export function expectedChecks(report: LoadgenReport): CollectorCheck[] {
  return report.collectors.map((c) => ({
    collector: c.collector,
    rows: c.samples,
    distinctValues: c.samples,
    sum: c.valueSum,
    min: 0,
    max: c.samples - 1,
    inconsistent: 0,
  }));
}

export const totalRows = (checks: CollectorCheck[]): number => checks.reduce((n, c) => n + c.rows, 0);

/** Resident memory of a process, MiB (from /proc). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
