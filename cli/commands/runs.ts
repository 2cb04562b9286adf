/**
 * `isoscope runs`: the runs recorded in the store (latest phase per run), and `isoscope cancel RUN`,
 * which asks the orchestrator running RUN to stop it (it records `abort` and tears down partitions).
 */
import { Command } from 'commander';
import { readUpState } from '../../standalone/up-state.js';
import type { QueryResult } from '../../store/store.js';
import type { ResolvedConfig } from '../../config/load.js';
import { commandConfig } from '../context.js';
import { formatResult, type OutputFormat } from '../format.js';
import { oneOf, reportFailure, UserError } from '../options.js';
import { createStore } from '../../wiring/wiring.js';
import { requestCancel } from '../../orchestrator/cancel.js';

interface Flags {
  store?: 'questdb' | 'duckdb';
  experiment?: string;
  specHash?: string;
  format: OutputFormat;
}

export function runsCommand(): Command {
  return new Command('runs')
    .description('List experiment runs from the store: the latest phase of each run, with its result.')
    .option('--experiment <name>', 'only this experiment')
    .option('--spec-hash <hex>', 'only this version of the experiment (its spec_hash, or a prefix)')
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--format <format>', 'table, json or csv', oneOf(['table', 'json', 'csv'] as const), 'table')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        const config = commandConfig(cmd, flags.store ? { store: flags.store } : {});
        const res = await query(config, 'SELECT ts, run, experiment, workload, phase, stack, node_count, background, repetition, result, unit, message, config FROM runs ORDER BY ts');
        const latest = latestPerRun(res, flags.experiment, flags.specHash);
        const counts = await query(config, sampleCountsSql(latest.rows.map((r) => String(r[1]))));
        process.stdout.write(formatResult({ ...withSamples(latest, counts), truncated: false }, flags.format));
      } catch (err) {
        reportFailure('runs', err);
      }
    });
}

export function cancelCommand(): Command {
  return new Command('cancel')
    .description('Cancel a running run: its orchestrator stops the workload, tears down the partitions and records `abort`.')
    .argument('<run>', 'run id (see isoscope runs)')
    .action((run: string, _flags: unknown, cmd: Command) => {
      try {
        const config = commandConfig(cmd);
        requestCancel(config.stateDir, run);
        process.stdout.write(`cancel requested for run ${run}; the orchestrator running it (on this state directory, ${config.stateDir}) stops it within a second\n`);
      } catch (err) {
        reportFailure('cancel', err);
      }
    });
}

/**
 * The latest phase row of every run, its experiment version (the first 12 hex digits of
 * `config.spec_hash`) in place of the config, each version's runs together in the order they ran.
 */
function latestPerRun(res: QueryResult, experiment: string | undefined, specHash: string | undefined): QueryResult {
  const col = (name: string) => res.columns.findIndex((c) => c.name === name);
  const runCol = col('run');
  const expCol = col('experiment');
  const cfgCol = col('config');
  const latest = new Map<string, unknown[]>();
  const versions = new Map<string, string>();
  for (const row of res.rows) {
    if (experiment && row[expCol] !== experiment) continue;
    const run = String(row[runCol]);
    const hash = hashOf(row[cfgCol]);
    if (hash) versions.set(run, hash);
    latest.set(run, row);
  }
  const rows = [...latest.entries()]
    .filter(([run]) => specHash === undefined || (versions.get(run) ?? '').startsWith(specHash))
    .map(([run, row]) => [...row.filter((_v, i) => i !== cfgCol), (versions.get(run) ?? '').slice(0, 12) || null]);
  const firstSeen = new Map<string, number>();
  rows.forEach((r, i) => { const v = String(r[r.length - 1]); if (!firstSeen.has(v)) firstSeen.set(v, i); });
  const order = rows.map((r, i) => ({ r, i, v: firstSeen.get(String(r[r.length - 1]))! }));
  order.sort((a, b) => a.v - b.v || a.i - b.i);
  return { columns: [...res.columns.filter((_c, i) => i !== cfgCol), { name: 'version', type: 'VARCHAR' }], rows: order.map((o) => o.r) };
}

function hashOf(config: unknown): string | null {
  try {
    const c = (typeof config === 'string' ? JSON.parse(config) : config) as { spec_hash?: unknown } | null;
    return typeof c?.spec_hash === 'string' ? c.spec_hash : null;
  } catch {
    return null;
  }
}

function sampleCountsSql(runs: string[]): string {
  const list = runs.length ? runs.map((r) => `'${r.replace(/'/g, "''")}'`).join(', ') : "''";
  return `SELECT run, node, count(*) AS n FROM samples WHERE run IN (${list}) GROUP BY run, node`;
}

/** Adds `samples` (tagged with the run) and `sample_nodes` (`node:count`, …); a finished run without samples says so. */
function withSamples(latest: QueryResult, counts: QueryResult): QueryResult {
  const per = new Map<string, { total: number; nodes: string[] }>();
  for (const [run, node, n] of counts.rows) {
    const c = per.get(String(run)) ?? { total: 0, nodes: [] };
    c.total += Number(n);
    c.nodes.push(`${String(node)}:${Number(n)}`);
    per.set(String(run), c);
  }
  const runCol = latest.columns.findIndex((c) => c.name === 'run');
  return {
    columns: [...latest.columns, { name: 'samples', type: 'BIGINT' }, { name: 'sample_nodes', type: 'VARCHAR' }],
    rows: latest.rows.map((r) => {
      const c = per.get(String(r[runCol]));
      return [...r, c?.total ?? 0, c ? c.nodes.sort().join(' ') : null];
    }),
  };
}

async function query(config: ResolvedConfig, sql: string): Promise<QueryResult> {
  const up = config.storeKind === 'duckdb' ? readUpState(config.stateDir) : null;
  if (up && up.dataDir === config.dataDir) {
    const res = await fetch(`${up.url}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(config.query.token ? { authorization: `Bearer ${config.query.token}` } : {}) },
      body: JSON.stringify({ sql, limit: 1_000_000 }),
    });
    const body = (await res.json()) as QueryResult & { error?: string };
    if (!res.ok) throw new UserError(body.error ?? `query service answered HTTP ${res.status}`);
    return body;
  }
  const store = await createStore(config);
  await store.start();
  try {
    return await store.query(sql, { limit: 1_000_000 });
  } catch (err) {
    throw new UserError(`cannot read the runs table: ${(err as Error).message}`);
  } finally {
    await store.shutdown();
  }
}
