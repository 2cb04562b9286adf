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
  format: OutputFormat;
}

export function runsCommand(): Command {
  return new Command('runs')
    .description('List experiment runs from the store: the latest phase of each run, with its result.')
    .option('--experiment <name>', 'only this experiment')
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--format <format>', 'table, json or csv', oneOf(['table', 'json', 'csv'] as const), 'table')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        const config = commandConfig(cmd, flags.store ? { store: flags.store } : {});
        const res = await query(config, 'SELECT ts, run, experiment, workload, phase, stack, node_count, background, repetition, result, unit, message FROM runs ORDER BY ts');
        process.stdout.write(formatResult({ ...latestPerRun(res, flags.experiment), truncated: false }, flags.format));
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

function latestPerRun(res: QueryResult, experiment: string | undefined): QueryResult {
  const col = (name: string) => res.columns.findIndex((c) => c.name === name);
  const runCol = col('run');
  const expCol = col('experiment');
  const latest = new Map<string, unknown[]>();
  for (const row of res.rows) {
    if (experiment && row[expCol] !== experiment) continue;
    latest.set(String(row[runCol]), row);
  }
  return { columns: res.columns, rows: [...latest.values()] };
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
