/** `isoscope up` (= `npm start`): collector, bus, ingest, store and query service in one process. */
import { Command } from 'commander';
import { Standalone } from '../../standalone/standalone.js';
import { removeUpState, writeUpState } from '../../standalone/up-state.js';
import { commandConfig, onSignal } from '../context.js';
import { positiveInt, reportFailure } from '../options.js';
import { createBus, createStore, describeTargets } from '../wiring.js';

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
  const node = new Standalone({
    bus: await createBus(config),
    store: await createStore(config),
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
  writeUpState(config.stateDir, { pid: process.pid, url: node.queryUrl, dataDir: config.dataDir, startedAt: new Date().toISOString() });
  onSignal(async () => {
    await node.shutdown();
    removeUpState(config.stateDir);
  });
  process.stdout.write(
    [
      `isoscope is up: collector ${node.collectorId} every ${flags.interval ?? config.collector.intervalMs} ms`,
      `  ${describeTargets(config)}`,
      `  query: POST ${node.queryUrl}/api/sql  {"sql": "SELECT count(*) FROM samples"}`,
      `  or:    npx isoscope sql "SELECT metric, count(*) FROM samples GROUP BY metric"`,
      '  stop with Ctrl-C',
      '',
    ].join('\n'),
  );
  await node.stopped();
}
