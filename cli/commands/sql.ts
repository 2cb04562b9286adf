/**
 * `isoscope sql "SELECT …"`: read-only SQL against the configured store. With the embedded store
 * and `isoscope up` running, the query goes to that process (it holds the DuckDB file).
 */
import { Command } from 'commander';
import { readUpState } from '../../standalone/up-state.js';
import type { QueryResult } from '../../store/store.js';
import { commandConfig } from '../context.js';
import { formatResult, type OutputFormat } from '../format.js';
import { oneOf, positiveInt, reportFailure, UserError } from '../options.js';
import { createStore } from '../../wiring/wiring.js';

interface Flags {
  store?: 'questdb' | 'duckdb';
  format: OutputFormat;
  limit: number;
  timeout: number;
}

export function sqlCommand(): Command {
  return new Command('sql')
    .description('Run read-only SQL against the configured store (DuckDB by default, QuestDB with --store questdb or when services run).')
    .argument('<statement>', 'the SQL statement; statements that change data or schema are refused')
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--format <format>', 'table, json or csv', oneOf(['table', 'json', 'csv'] as const), 'table')
    .option('--limit <rows>', 'most rows returned', positiveInt('the row limit'), 10_000)
    .option('--timeout <ms>', 'cancel the statement after this many milliseconds', positiveInt('the timeout'), 30_000)
    .addHelpText('after', '\nExamples:\n  isoscope sql "SELECT count(*) FROM samples"\n  isoscope sql --store questdb --format csv "SELECT * FROM samples LIMIT 10"')
    .action(async (statement: string, flags: Flags, cmd: Command) => {
      try {
        const result = await runSql(statement, flags, cmd);
        process.stdout.write(formatResult(result, flags.format));
      } catch (err) {
        reportFailure('sql', err);
      }
    });
}

async function runSql(statement: string, flags: Flags, cmd: Command): Promise<QueryResult & { truncated: boolean }> {
  const config = commandConfig(cmd, flags.store ? { store: flags.store } : {});
  const up = config.storeKind === 'duckdb' ? readUpState(config.stateDir) : null;
  if (up && up.dataDir === config.dataDir) {
    const res = await fetch(`${up.url}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(config.query.token ? { authorization: `Bearer ${config.query.token}` } : {}) },
      body: JSON.stringify({ sql: statement, limit: flags.limit, timeoutMs: flags.timeout }),
    });
    const body = (await res.json()) as QueryResult & { truncated: boolean; error?: string };
    if (!res.ok) throw new UserError(body.error ?? `query service answered HTTP ${res.status}`);
    return body;
  }
  const store = await createStore(config);
  await store.start();
  try {
    return await store.query(statement, { limit: flags.limit, timeoutMs: flags.timeout });
  } catch (err) {
    throw new UserError((err as Error).message);
  } finally {
    await store.shutdown();
  }
}
