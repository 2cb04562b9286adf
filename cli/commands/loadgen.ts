/** `isoscope loadgen`: synthetic samples through the real collector path, for sizing Kafka and QuestDB. */
import { Command, InvalidArgumentError } from 'commander';
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { join } from 'node:path';
import type { Bus } from '../../bus/bus.js';
import { ensureTopicsEventually } from '../../bus/ensure-topics.js';
import { runLoadgen, type LoadgenReport } from '../../loadgen/loadgen.js';
import { planLoad } from '../../loadgen/plan.js';
import { commandConfig } from '../context.js';
import { oneOf, positiveInt, reportFailure } from '../options.js';
import { createBus } from '../../wiring/wiring.js';

interface Flags {
  collectors: number;
  rate: number;
  count: number;
  batch?: number;
  sink?: 'kafka' | 'http' | 'embedded';
  nodePrefix: string;
  stateDir?: string;
  json?: boolean;
  progress?: boolean;
}

const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError(`expected samples per second as a positive number, got "${value}"`);
  return n;
};

export function loadgenCommand(): Command {
  return new Command('loadgen')
    .description(
      'Produce synthetic samples through the real collector path (agent batching, batch sequence, disk spool) from N simulated ' +
        'collectors; prints what each produced and its sequence range. Use it to size Kafka, ingest and QuestDB.',
    )
    .option('--collectors <n>', 'simulated collectors (nodes)', positiveInt('the number of collectors'), 4)
    .option('--rate <samples/s>', 'samples per second, all collectors together', positiveNumber, 10_000)
    .requiredOption('--count <samples>', 'samples to produce in all', positiveInt('the sample count'))
    .option('--batch <samples>', 'samples per batch (default: 10 batches/s per collector, at most 5000)', positiveInt('the batch size'))
    .option('--sink <sink>', 'kafka or http (both through the disk spool), or embedded (default: config `bus`)', oneOf(['kafka', 'http', 'embedded'] as const))
    .option('--node-prefix <prefix>', 'node names are <prefix>-1 … <prefix>-N', 'loadgen')
    .option('--state-dir <dir>', 'where sequence files and spools live (default: <dataDir>/loadgen); reuse it to continue the sequences')
    .option('--json', 'print the report as JSON on stdout')
    .option('--no-progress', 'no progress bar / progress lines on stderr')
    .addHelpText('after', '\nExamples:\n  isoscope loadgen --collectors 8 --rate 100000 --count 1000000 --sink kafka\n  isoscope loadgen --count 10000 --json')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        await run(flags, cmd);
      } catch (err) {
        reportFailure('loadgen', err);
      }
    });
}

async function run(flags: Flags, cmd: Command): Promise<void> {
  if (flags.nodePrefix && !/^[A-Za-z0-9._-]+$/.test(flags.nodePrefix)) throw new InvalidArgumentError(`--node-prefix: expected letters, digits, '.', '_' or '-', got "${flags.nodePrefix}"`);
  planLoad({ collectors: flags.collectors, rate: flags.rate, count: flags.count, batchSize: flags.batch }); // bad input fails before any connection
  const config = commandConfig(cmd, flags.sink === 'kafka' || flags.sink === 'embedded' ? { bus: flags.sink } : {});
  const sink = flags.sink ?? config.busKind;
  let bus: Bus | null = null;
  if (sink === 'kafka') {
    // Like a node collector, loadgen starts while Kafka is away: its batches wait in the spool.
    bus = await createBus(config);
    void ensureTopicsEventually(bus, ['samples'], 'loadgen');
  } else if (sink === 'embedded') {
    bus = await createBus(config);
    await bus.start();
    await bus.ensureTopics(['samples']);
  }
  const abort = new AbortController();
  const onSignal = () => {
    process.stderr.write('\nstopping: waiting briefly for batches in flight; the rest stays in the spool for the next run…\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = flags.progress === false ? null : progressReporter(flags.count);
  try {
    const report = await runLoadgen({
      collectors: flags.collectors,
      rate: flags.rate,
      count: flags.count,
      ...(flags.batch !== undefined ? { batchSize: flags.batch } : {}),
      sink,
      bus,
      http: config.collector.http,
      stateDir: flags.stateDir ?? join(config.dataDir, 'loadgen'),
      spoolMaxBytes: config.collector.spoolMaxBytes,
      nodePrefix: flags.nodePrefix,
      ...(progress ? { onProgress: progress.update } : {}),
      signal: abort.signal,
    });
    progress?.stop();
    process.stdout.write(flags.json ? JSON.stringify(report) + '\n' : renderReport(report, sink));
    if (!report.complete || report.dropped > 0) process.exitCode = 1;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await bus?.shutdown();
  }
}

/** A bar on a terminal; a line every 5 s otherwise (logs, CI). */
function progressReporter(total: number): { update: (done: number, total: number) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ format: 'loadgen [{bar}] {percentage}% | {value}/{total} samples | {rate}/s', stream: process.stderr }, undefined);
    const t0 = performance.now();
    bar.start(total, 0, { rate: 0 });
    return {
      update: (done) => bar.update(done, { rate: Math.round(done / ((performance.now() - t0) / 1000)) }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update: (done) => {
      if (Date.now() - last < 5000 && done < total) return;
      last = Date.now();
      process.stderr.write(`loadgen: ${done}/${total} samples produced\n`);
    },
    stop: () => {},
  };
}

function renderReport(r: LoadgenReport, sink: string): string {
  const table = new Table({ head: ['collector', 'samples', 'batches', 'seq range', 'value sum', 'dropped'], style: { head: [], border: [] } });
  for (const c of r.collectors) {
    table.push([c.collector, c.samples, c.batches, c.firstSeq === null ? '-' : `${c.firstSeq}..${c.lastSeq}`, c.valueSum, c.dropped]);
  }
  return (
    `${table.toString()}\n` +
    `${r.samples} samples in ${r.batches} batches of up to ${r.plan.batchSize} to ${sink} in ${r.seconds.toFixed(1)} s: ` +
    `${Math.round(r.achievedRate)} samples/s (planned ${Math.round(r.plan.plannedRate)}/s)` +
    (r.dropped ? `; ${r.dropped} batches DROPPED at the spool bound` : '') +
    (r.complete ? '\n' : '; INCOMPLETE: stopped early, the rest stays spooled\n')
  );
}
