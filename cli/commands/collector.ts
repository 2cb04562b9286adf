/** `isoscope collector`: runs the node collector and produces samples to the bus. */
import { Command } from 'commander';
import { join } from 'node:path';
import { CollectorAgent } from '../../collectors/agent.js';
import { buildSources } from '../../collectors/build.js';
import { SOURCE_NAMES } from '../../collectors/registry.js';
import { SequenceFile } from '../../collectors/sequence.js';
import { commandConfig, onSignal } from '../context.js';
import { oneOf, positiveInt, reportFailure } from '../options.js';
import { createBus, describeTargets } from '../wiring.js';

interface Flags {
  sink?: 'kafka' | 'embedded';
  source?: string[];
  interval?: number;
  count?: number;
  events?: string[];
}

export function collectorCommand(): Command {
  return new Command('collector')
    .description('Run the node collector: read the sources every interval and produce samples to the bus.')
    .option('--sink <bus>', 'where samples go: kafka or embedded (default: config `bus`)', oneOf(['kafka', 'embedded'] as const))
    .option('--source <name...>', `sources to read (${SOURCE_NAMES.join(', ')}; default: config collector.sources)`)
    .option('--interval <ms>', 'sampling interval in milliseconds (default: config collector.intervalMs)', positiveInt('the interval'))
    .option('--count <batches>', 'stop after this many batches were sent', positiveInt('the batch count'))
    .option('--events <names...>', 'perf events to count system-wide (adds the perf source), e.g. task-clock context-switches sched:sched_switch')
    .addHelpText('after', '\nExamples:\n  isoscope collector --sink kafka --interval 1000 --count 10\n  isoscope collector --events task-clock sched:sched_switch cycles --interval 100')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        await runCollector(flags, cmd);
      } catch (err) {
        reportFailure('collector', err);
      }
    });
}

async function runCollector(flags: Flags, cmd: Command): Promise<void> {
  const config = commandConfig(cmd, flags.sink ? { bus: flags.sink } : {});
  const names = [...(flags.source ?? config.collector.sources)];
  if (flags.events && !names.includes('perf')) names.push('perf');
  const options = { ...config.collector, ...(flags.events ? { perf: { ...config.collector.perf, events: flags.events } } : {}) };
  const stateDir = join(config.dataDir, 'collector');
  const built = buildSources(names, options, { stateDir });
  const bus = await createBus(config);
  await bus.start();
  await bus.ensureTopics(['samples', 'events']);
  const producer = bus.producer();
  await producer.start();
  const collectorId = `${config.node}/${names.join('+')}`;
  const agent = new CollectorAgent({
    node: config.node,
    collectorId,
    ...built,
    intervalMs: flags.interval ?? config.collector.intervalMs,
    producer,
    sequence: SequenceFile.forCollector(stateDir, collectorId),
    eventSequence: SequenceFile.forCollector(stateDir, collectorId, 'events'),
    ...(flags.count !== undefined ? { maxBatches: flags.count } : {}),
  });
  const stop = async () => {
    await agent.shutdown();
    await producer.shutdown();
    await bus.shutdown();
    const s = agent.stats;
    process.stdout.write(
      `collector ${collectorId}: sent ${s.batches} batches, ${s.samples} samples` +
        (s.firstSeq !== null ? `, seq ${s.firstSeq}..${s.lastSeq}` : '') +
        (s.eventBatches ? `; ${s.eventBatches} event batches, ${s.events} events` : '') +
        (s.dropped ? `; ${s.dropped} batches dropped` : '') +
        '\n',
    );
  };
  onSignal(stop);
  await agent.start();
  process.stderr.write(`collector ${collectorId} running every ${flags.interval ?? config.collector.intervalMs} ms; ${describeTargets(config)}\n`);
  if (flags.count !== undefined) {
    await agent.done;
    await stop();
  }
}
