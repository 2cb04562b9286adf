/**
 * `isoscope query`: the query HTTP service alone (read-only SQL, runs, aligned series, compare,
 * Grafana endpoints, /openapi.json, /metrics) on the configured store, e.g. next to QuestDB in
 * cluster mode for Grafana's Infinity datasource. `isoscope up` serves the same app.
 */
import { Command } from 'commander';
import { createQueryApp } from '../../query/app.js';
import { QueryServer } from '../../query/server.js';
import { commandConfig, onSignal } from '../context.js';
import { oneOf, reportFailure, UserError } from '../options.js';
import { createStore } from '../../wiring/wiring.js';

interface Flags {
  store?: 'questdb' | 'duckdb';
  listen?: string;
}

export function queryCommand(): Command {
  return new Command('query')
    .description('Serve the query API (SQL, runs, aligned series, compare, Grafana endpoints) on the configured store.')
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--listen <host:port>', 'address to serve on (default: config query.listen, 127.0.0.1:7410; port 0 picks a free one)')
    .addHelpText('after', '\nExamples:\n  isoscope query --store questdb\n  curl -s "localhost:7410/api/runs?experiment=e1"\n  curl -s localhost:7410/openapi.json')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        const config = commandConfig(cmd, flags.store ? { store: flags.store } : {});
        const listen = flags.listen ?? config.query.listen;
        if (!/^[^\s:]+:\d{1,5}$/.test(listen)) throw new UserError(`--listen: expected host:port, e.g. 127.0.0.1:7410, got "${listen}"`);
        const store = await createStore(config);
        await store.start();
        const server = new QueryServer(createQueryApp({ store, token: config.query.token }), listen);
        try {
          await server.start();
        } catch (err) {
          await store.shutdown();
          throw err;
        }
        process.stderr.write(`query service on ${server.url} (store: ${store.kind}); OpenAPI at ${server.url}/openapi.json\n`);
        onSignal(async () => {
          await server.shutdown();
          await store.shutdown();
        });
      } catch (err) {
        reportFailure('query', err);
      }
    });
}
