/** `isoscope ingest`: consumes the bus into the store (one member of the ingest consumer group). */
import { Command, InvalidArgumentError } from 'commander';
import { Ingest } from '../../ingest/ingest.js';
import { commandConfig, onSignal } from '../context.js';
import { metricsPortError } from '../metrics-port.js';
import { oneOf, reportFailure } from '../options.js';
import { createBus, createStore, describeTargets } from '../../wiring/wiring.js';

interface Flags {
  exitWhenIdle?: boolean;
  bus?: 'kafka' | 'embedded';
  store?: 'questdb' | 'duckdb';
  group?: string;
  metricsListen?: string;
}

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('Consume samples, events, partitions, runs and alerts from the bus and write them to the store; offsets are committed only after the store acknowledged.')
    .option('--exit-when-idle', 'stop once everything on the bus has been ingested (for scripts and tests)')
    .option('--bus <bus>', 'kafka or embedded (default: config `bus`)', oneOf(['kafka', 'embedded'] as const))
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--group <name>', 'consumer group (default: config ingest.group)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics on /metrics there, or `off` (default: config ingest.metricsListen, 127.0.0.1:9464)', metricsAddress)
    .addHelpText('after', '\nExamples:\n  isoscope ingest --exit-when-idle\n  isoscope ingest --metrics-listen 0.0.0.0:9464')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        await runIngest(flags, cmd);
      } catch (err) {
        reportFailure('ingest', err);
        process.exit(1);
      }
    });
}

async function runIngest(flags: Flags, cmd: Command): Promise<void> {
  const config = commandConfig(cmd, { ...(flags.bus ? { bus: flags.bus } : {}), ...(flags.store ? { store: flags.store } : {}) });
  const bus = await createBus(config);
  const store = await createStore(config);
  await bus.start();
  await store.start();
  const metricsListen = flags.metricsListen ?? config.ingest.metricsListen;
  const ingest = new Ingest(bus, store, {
    group: flags.group ?? config.ingest.group,
    watermarkMs: config.ingest.watermarkMs,
    partitionsInFlight: config.ingest.partitionsInFlight,
    ...(metricsListen !== 'off' ? { metricsListen } : {}),
  });
  const started = Date.now();
  const stop = async () => {
    await ingest.shutdown();
    await store.shutdown();
    await bus.shutdown();
    const s = ingest.stats;
    const counts = Object.entries(s.records).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ') || 'no records';
    process.stdout.write(`ingested ${s.messages} messages (${counts}); ${s.deadLettered} dead-lettered; ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  };
  process.stderr.write(`ingest (group ${flags.group ?? config.ingest.group}) starting; ${describeTargets(config)}\n`);
  // The signal handler goes in before start: start can take a while on a long bus history (the
  // control feed reads runs and partitions from the beginning), and a SIGTERM then (compose scaling
  // an instance down) must stop ingest cleanly instead of killing it.
  const starting = ingest.start();
  if (!flags.exitWhenIdle) onSignal(async () => {
    await starting.catch(() => undefined);
    await stop();
  });
  try {
    await starting;
  } catch (err) {
    await Promise.race([Promise.all([ingest.shutdown(), store.shutdown(), bus.shutdown()]).catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    throw metricsPortError(err, metricsListen, 'ingest', flags.metricsListen !== undefined) ?? err;
  }
  if (ingest.metricsAddress) process.stderr.write(`ingest metrics on http://${ingest.metricsAddress}/metrics\n`);
  try {
    if (flags.exitWhenIdle) {
      await ingest.waitUntilIdle(config.ingest.idleMs);
      await stop();
      return;
    }
    await ingest.stopped();
  } catch (err) {
    // The consumer stopped on an error: release everything (bounded), so the process exits with it
    // instead of lingering on the control feed's and the store's open connections.
    await Promise.race([stop().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    throw err;
  }
}

/** `host:port` or `off`, for --metrics-listen (ingest, alerts run, collector). */
export function metricsAddress(value: string): string {
  if (!/^([^\s:]+:\d{1,5}|off)$/.test(value)) throw new InvalidArgumentError(`expected host:port (e.g. 127.0.0.1:9464) or off, got "${value}"`);
  return value;
}
