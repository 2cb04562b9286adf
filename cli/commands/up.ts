/** `isoscope up` (= `npm start`): collector, bus, ingest, store and query service in one process. */
import { Command } from 'commander';
import { Evaluator } from '../../alerts/evaluator.js';
import { loadRules } from '../../alerts/rules/load.js';
import { Standalone } from '../../standalone/standalone.js';
import { removeUpState, writeUpState } from '../../standalone/up-state.js';
import { commandConfig, onSignal } from '../context.js';
import { positiveInt, reportFailure } from '../options.js';
import { alertsSettings } from './alerts.js';
import { createBus, createStore, describeTargets } from '../../wiring/wiring.js';

interface Flags {
  interval?: number;
  listen?: string;
}

export function upCommand(): Command {
  return new Command('up')
    .description('Run collector → bus → ingest → store and the query service in one process (the embedded default: durable local bus and DuckDB in ./data).')
    .option('--interval <ms>', 'sampling interval in milliseconds (default: config collector.intervalMs)', positiveInt('the interval'))
    .option('--listen <host:port>', 'address of the query service (default: config query.listen)')
    .addHelpText('after', '\nThen, from another terminal:\n  npx isoscope sql "SELECT metric, count(*) FROM samples GROUP BY metric"')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        await runUp(flags, cmd);
      } catch (err) {
        reportFailure('up', err);
        process.exit(1);
      }
    });
}

async function runUp(flags: Flags, cmd: Command): Promise<void> {
  const config = commandConfig(cmd);
  const bus = await createBus(config);
  const store = await createStore(config);
  const node = new Standalone({
    bus,
    store,
    node: config.node,
    dataDir: config.dataDir,
    sources: config.collector.sources,
    sourceOptions: config.collector,
    intervalMs: flags.interval ?? config.collector.intervalMs,
    ingestGroup: config.ingest.group,
    watermarkMs: config.ingest.watermarkMs,
    listen: flags.listen ?? config.query.listen,
    token: config.query.token,
  });
  try {
    await node.start();
  } catch (err) {
    await node.shutdown(2000).catch(() => undefined);
    throw err;
  }
  // With alerts.rules configured, the alerts evaluator runs here too, on the same bus and store.
  const alerts = config.alerts.rules
    ? new Evaluator(bus, { rules: loadRules(config.alerts.rules), node: config.node, store, group: config.alerts.group, maxAgeMs: config.alerts.maxAgeMs, ...alertsSettings(config) })
    : null;
  try {
    await alerts?.start();
  } catch (err) {
    await alerts?.shutdown(2000).catch(() => undefined);
    await node.shutdown(2000).catch(() => undefined);
    throw err;
  }
  writeUpState(config.stateDir, { pid: process.pid, url: node.queryUrl, dataDir: config.dataDir, startedAt: new Date().toISOString() });
  onSignal(async () => {
    await alerts?.shutdown();
    await node.shutdown();
    removeUpState(config.stateDir);
  });
  process.stdout.write(
    [
      `isoscope is up: collector ${node.collectorId} every ${flags.interval ?? config.collector.intervalMs} ms`,
      `  ${describeTargets(config)}`,
      `  query: POST ${node.queryUrl}/api/sql  {"sql": "SELECT count(*) FROM samples"}`,
      `         GET ${node.queryUrl}/api/runs, /api/series, /api/compare (all routes: ${node.queryUrl}/openapi.json)`,
      ...(alerts ? [`  alerts: ${config.alerts.rules} (outbox ${alertsSettings(config).outboxDir})`] : []),
      `  or:    npx isoscope sql "SELECT metric, count(*) FROM samples GROUP BY metric"`,
      '  stop with Ctrl-C',
      '',
    ].join('\n'),
  );
  await node.stopped();
}
