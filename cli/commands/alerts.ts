/**
 * `isoscope alerts`: `run` evaluates rules on the live bus and delivers webhooks; `test` replays a
 * recorded run from the store through the rules and prints what would have fired and when; `check`
 * validates a rules file.
 */
import { Command } from 'commander';
import { join } from 'node:path';
import { Evaluator } from '../../alerts/evaluator.js';
import { alertsMetrics } from '../../alerts/metrics.js';
import { MetricsServer } from '../../ingest/metrics-server.js';
import { replayRun, type ReplayResult } from '../../alerts/replay.js';
import { loadRules } from '../../alerts/rules/load.js';
import { isoNs } from '../../alerts/delivery/payload.js';
import type { ResolvedConfig } from '../../config/load.js';
import { componentLogger } from '../../core/logger.js';
import type { Store } from '../../store/store.js';
import { commandConfig, onSignal } from '../context.js';
import { formatResult } from '../format.js';
import { oneOf, reportFailure, UserError } from '../options.js';
import { createBus, createStore, describeTargets } from '../../wiring/wiring.js';
import { metricsAddress } from './ingest.js';
import { metricsPortError } from '../metrics-port.js';

export function alertsCommand(): Command {
  return new Command('alerts')
    .description('Interference alerts: evaluate rules on the live stream, deliver webhooks, replay recorded runs through rules.')
    .addCommand(runCommand())
    .addCommand(testCommand())
    .addCommand(checkCommand());
}

/** Where series links point and where the outbox lives, from the config. */
export function alertsSettings(config: ResolvedConfig): { outboxDir: string; seriesBaseUrl: string } {
  return {
    outboxDir: config.alerts.outboxDir ?? join(config.dataDir, 'alerts-outbox'),
    seriesBaseUrl: config.alerts.seriesBaseUrl ?? `http://${config.query.listen}`,
  };
}

function runCommand(): Command {
  return new Command('run')
    .description('Evaluate the rules on the bus (own consumer group on samples) and deliver webhooks until stopped.')
    .option('--rules <file>', 'rules file (default: config alerts.rules)')
    .option('--bus <bus>', 'kafka or embedded (default: config `bus`)', oneOf(['kafka', 'embedded'] as const))
    .option('--store <store>', 'where baselines come from: questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--group <name>', 'consumer group (default: config alerts.group)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics (webhook deliveries, alerts fired) on /metrics there, or `off` (default: config alerts.metricsListen, 127.0.0.1:9465)', metricsAddress)
    .addHelpText('after', '\nExample:\n  ISOSCOPE_LAB_WEBHOOK_SECRET=… isoscope alerts run --rules alerts.yaml')
    .action(async (flags: { rules?: string; bus?: 'kafka' | 'embedded'; store?: 'questdb' | 'duckdb'; group?: string; metricsListen?: string }, cmd: Command) => {
      try {
        const config = commandConfig(cmd, { ...(flags.bus ? { bus: flags.bus } : {}), ...(flags.store ? { store: flags.store } : {}) });
        const file = flags.rules ?? config.alerts.rules;
        if (!file) throw new UserError('no rules file: pass --rules FILE or set alerts.rules in the config (ISOSCOPE_ALERTS_RULES)');
        const rules = loadRules(file);
        const bus = await createBus(config);
        await bus.start();
        const store = await baselineStore(config);
        const evaluator = new Evaluator(bus, { rules, node: config.node, store, group: flags.group ?? config.alerts.group, maxAgeMs: config.alerts.maxAgeMs, ...alertsSettings(config) });
        process.stderr.write(`alerts: ${rules.rules.length} rules from ${file}; ${describeTargets(config)}\n`);
        const metricsListen = flags.metricsListen ?? config.alerts.metricsListen;
        const metrics = metricsListen === 'off' ? null : new MetricsServer(alertsMetrics(evaluator), metricsListen, 'alerts metrics');
        await metrics?.start().catch(async (err: unknown) => {
          await store?.shutdown();
          await bus.shutdown();
          throw metricsPortError(err, metricsListen, 'alerts', flags.metricsListen !== undefined) ?? err;
        });
        if (metrics) process.stderr.write(`alerts metrics on http://${metrics.address}/metrics\n`);
        await evaluator.start();
        onSignal(async () => {
          await metrics?.shutdown();
          await evaluator.shutdown();
          await store?.shutdown();
          await bus.shutdown();
          const s = evaluator.stats;
          process.stdout.write(`evaluated ${s.samples} samples; ${s.fired} fired, ${s.resolved} resolved; ${evaluator.deliverer.stats.delivered} delivered, ${evaluator.deliverer.stats.failed} failed, ${evaluator.deliverer.pending} pending\n`);
        });
        await evaluator.stopped();
      } catch (err) {
        reportFailure('alerts run', err);
      }
    });
}

/** The store for baselines; without one (unreachable, or DuckDB held by `isoscope up`) baseline rules stay silent. */
async function baselineStore(config: ResolvedConfig): Promise<Store | null> {
  try {
    const store = await createStore(config);
    await store.start();
    return store;
  } catch (err) {
    componentLogger('alerts').warn({ err }, `The store cannot be opened (${(err as Error).message}); baseline rules stay silent.`);
    return null;
  }
}

function testCommand(): Command {
  return new Command('test')
    .description('Replay a recorded run from the store through the rules and print what would have fired and when.')
    .argument('<rules>', 'rules file')
    .requiredOption('--run <run>', 'the run to replay')
    .option('--json', 'print JSON instead of a table')
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .addHelpText('after', '\nExample:\n  isoscope alerts test alerts.yaml --run hpcc-linux-bg-r3')
    .action(async (file: string, flags: { run: string; json?: boolean; store?: 'questdb' | 'duckdb' }, cmd: Command) => {
      try {
        const config = commandConfig(cmd, flags.store ? { store: flags.store } : {});
        const rules = loadRules(file, process.env, false);
        const store = await createStore(config);
        await store.start();
        try {
          const result = await replayRun(store, rules.rules, flags.run);
          process.stdout.write(flags.json ? `${JSON.stringify(replayJson(result), null, 2)}\n` : replayTable(result));
        } finally {
          await store.shutdown();
        }
      } catch (err) {
        reportFailure('alerts test', err);
      }
    });
}

function checkCommand(): Command {
  return new Command('check')
    .description('Validate a rules file (secrets from secretEnv must be set).')
    .argument('<rules>', 'rules file')
    .action((file: string) => {
      try {
        const rules = loadRules(file);
        process.stdout.write(`${file}: ${rules.rules.length} rules, ${rules.receivers.size} receivers: OK\n`);
      } catch (err) {
        reportFailure('alerts check', err);
      }
    });
}

export function replayJson(r: ReplayResult) {
  return {
    run: r.run,
    start: isoNs(r.start),
    end: r.end === null ? null : isoNs(r.end),
    samples: r.samples,
    stillFiring: r.stillFiring,
    transitions: r.transitions.map((t) => ({
      ts: isoNs(t.ts),
      tRelSeconds: Number(t.ts - r.start) / 1e9,
      state: t.state,
      alert: t.alert,
      rule: t.rule.name,
      severity: t.rule.severity,
      startsAt: isoNs(t.startsAt),
      node: t.node,
      partition: t.partition,
      series: t.series,
      value: t.value,
      message: t.message,
    })),
  };
}

function replayTable(r: ReplayResult): string {
  const j = replayJson(r);
  const head = `run ${r.run}: ${r.samples} samples from ${j.start} to ${j.end ?? '(no end record)'}; ${r.transitions.filter((t) => t.state === 'firing').length} incidents${r.stillFiring ? `, ${r.stillFiring} still firing at the end` : ''}\n`;
  if (j.transitions.length === 0) return `${head}nothing would have fired\n`;
  const rows = j.transitions.map((t) => [t.ts, t.tRelSeconds.toFixed(3), t.state, t.rule, t.severity, Object.entries(t.series).map(([k, v]) => `${k}=${v}`).join(','), t.value, t.alert]);
  const names = ['ts', 't_rel_s', 'state', 'rule', 'severity', 'series', 'value', 'alert'];
  return head + formatResult({ columns: names.map((name) => ({ name, type: 'text' })), rows, truncated: false }, 'table');
}
