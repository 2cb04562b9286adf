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
import { openRecordSink, type RecordSink } from '../../orchestrator/sink.js';
import type { RunSummary } from '../../orchestrator/runner.js';
import type { ResolvedConfig } from '../../config/load.js';
import { sampleCounts } from '../../query/runs.js';
import { createStore } from '../../wiring/wiring.js';
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
  newVersion?: boolean;
  collectorListen?: string;
}

export function runCommand(): Command {
  return new Command('run')
    .description('Run an experiment: partitions, workloads and background workloads on its nodes, recorded as runs, partitions and events.')
    .argument('<experiment>', 'experiment file (YAML)')
    .option('--bus <bus>', 'kafka or embedded (default: config `bus`)', oneOf(['kafka', 'embedded'] as const))
    .option('--store <store>', 'questdb or duckdb, for the in-process ingest of the embedded bus (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--catalog <dir>', 'extra workload catalog directory (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--fresh', 'start the matrix from the beginning (the old journal is kept beside the new one as <experiment>.journal.<time>)')
    .option('--new-version', 'the experiment file changed since its journal: run the new version\'s matrix beside the old runs (refused without this or --fresh)')
    .option('--collector-listen <host:port>', 'with the embedded bus: where collectors on SSH nodes post their batches (default 127.0.0.1:0, a free port; nodes reach it at collector.httpUrl)')
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
      experiment, catalog, producer: sink.producer, stateDir: config.stateDir, signal: ac.signal, onProgress: reporter.update, newVersion: flags.newVersion === true,
      measure: { bus: sink.bus, ...(config.busKind === 'kafka' ? { kafkaBrokers: config.kafkaBrokers } : {}), stateDir: config.dataDir, ...(flags.collectorListen ? { httpListen: flags.collectorListen } : {}) },
    });
    const summaries = await runner.execute();
    reporter.stop();
    process.stdout.write(summaryTable(summaries, process.stdout.isTTY === true && !process.env.NO_COLOR) + '\n');
    await warnUnmeasured(summaries, sink, config);
    return summaries.every((s) => s.phase === 'end') && !ac.signal.aborted;
  } finally {
    reporter.stop();
    await sink.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A finished run with no samples tagged with it is a warning under the summary: nothing measured it,
 * or its samples matched no run (node names). With Kafka, ingest runs elsewhere: the store is asked
 * for up to 15 s before a run is reported.
 */
async function warnUnmeasured(summaries: RunSummary[], sink: RecordSink, config: ResolvedConfig): Promise<void> {
  const finished = summaries.filter((s) => s.phase === 'end').map((s) => s.run);
  if (!finished.length) return;
  let store = sink.store;
  let own = false;
  try {
    if (!store) {
      if (!sink.bus) return; // posted to a running isoscope up: `isoscope runs` shows the counts
      store = await createStore(config);
      await store.start();
      own = true;
    }
    await sink.drain();
    let counts = await sampleCounts(store, finished);
    for (const end = Date.now() + (own ? 15_000 : 0); [...counts.values()].some((c) => c.total === 0) && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 1000));
      counts = await sampleCounts(store, finished);
    }
    const empty = finished.filter((r) => (counts.get(r)?.total ?? 0) === 0);
    for (const run of empty) {
      process.stdout.write(`warning: run ${run} finished with no samples tagged with it${own ? ' in the store after 15 s (is `isoscope ingest` running?)' : ''}: its collectors sent nothing, or their samples carry node names no run names (see the ingest metric isoscope_ingest_unmatched_samples_total)\n`);
    }
    if (!empty.length) process.stdout.write(`samples per run: ${finished.map((r) => counts.get(r)!.total).join(', ')}\n`);
  } catch (err) {
    process.stderr.write(`could not count the runs' samples in the store: ${(err as Error).message}\n`);
  } finally {
    if (own) await store?.shutdown().catch(() => undefined);
  }
}
