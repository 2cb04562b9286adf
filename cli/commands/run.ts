/**
 * `isoscope run EXPERIMENT.yaml`: runs an experiment's matrix on its nodes, with a progress bar per
 * run and a summary table at the end. Ctrl-C stops the current run (recorded `abort`, partitions torn
 * down); running the same experiment again continues where it stopped.
 */
import { Command } from 'commander';
import { commandConfig } from '../context.js';
import { oneOf, reportFailure } from '../options.js';
import { loadExperiment } from '../../orchestrator/experiment/load.js';
import { loadCatalog } from '../../orchestrator/catalog/load.js';
import { Runner } from '../../orchestrator/runner.js';
import { openRecordSink } from '../../orchestrator/sink.js';
import { progressReporter, summaryTable } from '../../orchestrator/progress.js';
import { existsSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { journalPath } from '../../orchestrator/journal.js';

interface Flags {
  bus?: 'kafka' | 'embedded';
  store?: 'questdb' | 'duckdb';
  catalog: string[];
  progress: 'bars' | 'lines' | 'auto';
  fresh?: boolean;
}

export function runCommand(): Command {
  return new Command('run')
    .description('Run an experiment: partitions, workloads and background workloads on its nodes, recorded as runs, partitions and events.')
    .argument('<experiment>', 'experiment file (YAML)')
    .option('--bus <bus>', 'kafka or embedded (default: config `bus`)', oneOf(['kafka', 'embedded'] as const))
    .option('--store <store>', 'questdb or duckdb, for the in-process ingest of the embedded bus (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--catalog <dir>', 'extra workload catalog directory (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--fresh', 'start the matrix from the beginning (the old journal is kept beside the new one as <experiment>.journal.<time>)')
    .option('--progress <style>', 'bars, lines or auto (bars on a terminal)', oneOf(['bars', 'lines', 'auto'] as const), 'auto')
    .addHelpText('after', '\nExamples:\n  isoscope run examples/stream-interference.yaml\n  isoscope sql "SELECT run, phase, result, unit FROM runs ORDER BY ts"')
    .action(async (file: string, flags: Flags, cmd: Command) => {
      try {
        process.exitCode = (await runExperiment(file, flags, cmd)) ? 0 : 1;
      } catch (err) {
        reportFailure('run', err);
      }
    });
}

async function runExperiment(file: string, flags: Flags, cmd: Command): Promise<boolean> {
  const config = commandConfig(cmd, { ...(flags.bus ? { bus: flags.bus } : {}), ...(flags.store ? { store: flags.store } : {}) });
  const experiment = loadExperiment(file);
  const catalog = loadCatalog([...experiment.spec.catalog.map((d) => resolve(experiment.dir, d)), ...flags.catalog]);
  if (flags.fresh) {
    const journal = journalPath(config.stateDir, experiment.spec.experiment);
    if (existsSync(journal)) renameSync(journal, `${journal}.${new Date().toISOString().replace(/[:.]/g, '-')}`);
  }
  const sink = await openRecordSink(config);
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    process.stderr.write(`\n${sig}: stopping the current run (recorded as aborted); press Ctrl-C again to exit at once\n`);
    ac.abort(new Error(`the orchestrator received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reporter = progressReporter(flags.progress === 'auto' ? (process.stderr.isTTY ? 'bars' : 'lines') : flags.progress);
  process.stderr.write(`experiment ${experiment.spec.experiment} (${experiment.file}); records to ${sink.describe}\n`);
  try {
    const runner = new Runner({
      experiment, catalog, producer: sink.producer, stateDir: config.stateDir, signal: ac.signal, onProgress: reporter.update,
      measure: { bus: sink.bus, ...(config.busKind === 'kafka' ? { kafkaBrokers: config.kafkaBrokers } : {}), stateDir: config.dataDir },
    });
    const summaries = await runner.execute();
    reporter.stop();
    process.stdout.write(summaryTable(summaries, process.stdout.isTTY === true && !process.env.NO_COLOR) + '\n');
    return summaries.every((s) => s.phase === 'end') && !ac.signal.aborted;
  } finally {
    reporter.stop();
    await sink.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
