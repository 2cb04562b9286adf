/** `isoscope collector`: runs the node collector and produces samples to the bus. */
import { Command } from 'commander';
import type { Bus } from '../../bus/bus.js';
import { ensureTopicsEventually } from '../../bus/ensure-topics.js';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { CollectorAgent } from '../../collectors/agent.js';
import { buildSources, type BuiltSources } from '../../collectors/build.js';
import { EbpfSource } from '../../collectors/ebpf/ebpf.js';
import { measuredSources } from '../../collectors/measure/build.js';
import { DEFAULT_PERF_EVENTS, measureSchema, type Measure } from '../../collectors/measure/schema.js';
import { PartitionScopes } from '../../collectors/scopes/partition-scopes.js';
import { InvalidArgumentError } from 'commander';
import { parseEventName } from '../../collectors/perf/events.js';
import { probeEvents } from '../../collectors/perf/probe.js';
import { collectorMetrics } from '../../collectors/self/metrics.js';
import { MetricsServer } from '../../ingest/metrics-server.js';
import { SOURCE_NAMES } from '../../collectors/registry.js';
import { housekeepingCpusSchema, pinProcessThreads } from '../../collectors/housekeeping.js';
import { SelfTelemetry } from '../../collectors/self/self-telemetry.js';
import { SequenceFile } from '../../collectors/sequence.js';
import { createSink, type SinkKind } from '../../collectors/sink.js';
import { commandConfig, onSignal } from '../context.js';
import { duration, oneOf, positiveInt, reportFailure, UsageError } from '../options.js';
import { createBus, describeTargets } from '../../wiring/wiring.js';
import { metricsAddress } from './ingest.js';
import { metricsPortError } from '../metrics-port.js';

interface Flags {
  sink?: SinkKind;
  source?: string[];
  interval?: number;
  duration?: number;
  count?: number;
  events?: string[];
  ebpf?: string[];
  node?: string;
  measure?: Measure;
  scopes?: string;
  metricsListen?: string;
  probeEvents?: string[];
  json?: boolean;
  housekeepingCpus?: string;
}

export function collectorCommand(): Command {
  return new Command('collector')
    .description('Run the node collector: read the sources every interval and produce samples and events to the bus.')
    .option('--sink <sink>', 'kafka or http (both spooled to disk while unreachable), embedded, or stdout (JSON lines) (default: config `bus`)', oneOf(['kafka', 'embedded', 'stdout', 'http'] as const))
    .option('--source <name...>', `sources to read (${SOURCE_NAMES.join(', ')}; default: config collector.sources)`)
    .option('--events <names...>', 'perf events to count system-wide (adds the perf source), e.g. task-clock context-switches sched:sched_switch')
    .option('--ebpf <programs...>', 'eBPF programs to load (adds the ebpf source): sched_switch, runqlat, pagefault, irq, biolatency')
    .option('--interval <duration>', 'sampling interval, 1ms to 1h, e.g. 100ms or 1s (default: config collector.intervalMs)', duration('the interval'))
    .option('--duration <duration>', 'stop after this long, e.g. 10s', duration('the duration'))
    .option('--count <batches>', 'stop after this many samples batches were sent', positiveInt('the batch count'))
    .option('--node <name>', 'node name stamped on every record (default: config `node`, the host name)')
    .option('--measure <json>', "an experiment's `measure:` section as JSON: replaces --source/--events/--ebpf (sources a node cannot run are left out with a warning)", measureOption)
    .option('--scopes <dir>', 'count the partitions the orchestrator hands over in this directory on their own (perf by cgroup); samples carry their partition and run')
    .option('--probe-events <names...>', 'only check which of these perf events this node can count (each opened on every CPU and closed), print the answer and exit; preflight runs this on SSH nodes')
    .option('--json', 'with --probe-events: print {"counting": [...], "unsupported": [{"event", "reason"}]} as JSON')
    .option('--housekeeping-cpus <list>', 'run every thread of the collector on these CPUs (a Linux cpu list, e.g. 1 or 0,2-3), off the CPUs an experiment uses; it still measures every CPU (default: config collector.housekeepingCpus, any CPU)', cpuListOption)
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics (batches, drops, spool) on /metrics there, or `off` (default: config collector.metricsListen, off)', metricsAddress)
    .addHelpText('after', '\nExamples:\n  isoscope collector --sink kafka --interval 1s --count 10\n  ISOSCOPE_COLLECTOR_HTTP_URL=http://hub:7410 ISOSCOPE_COLLECTOR_HTTP_TOKEN=… isoscope collector --sink http\n  isoscope collector --events task-clock sched:sched_switch cycles --interval 100ms --duration 10s --sink stdout')
    .action(async (flags: Flags, cmd: Command) => {
      try {
        if (flags.probeEvents) return await probe(flags.probeEvents, flags.json === true);
        await runCollector(flags, cmd);
      } catch (err) {
        reportFailure('collector', err);
      }
    });
}

async function runCollector(flags: Flags, cmd: Command): Promise<void> {
  const config = commandConfig(cmd, flags.sink === 'kafka' || flags.sink === 'embedded' ? { bus: flags.sink } : {});
  const node = flags.node ?? config.node;
  // First, before the sources, the bus and the sampler start their threads: those started later
  // inherit the mask of the (already moved) thread that starts them.
  const housekeeping = flags.housekeepingCpus ?? config.collector.housekeepingCpus;
  if (housekeeping !== undefined) {
    const what = flags.housekeepingCpus !== undefined ? '--housekeeping-cpus' : 'collector.housekeepingCpus';
    let threads;
    try {
      threads = pinProcessThreads(housekeeping, what);
    } catch (err) {
      // A wrong option value is a usage error (exit 2); a wrong configuration stays a configuration error.
      throw flags.housekeepingCpus !== undefined && err instanceof Error ? new UsageError(err.message) : err;
    }
    process.stderr.write(`collector threads on CPU ${threads[0]?.cpus ?? housekeeping} (${what}: ${threads.length} threads moved)\n`);
  }
  const stateDir = join(config.dataDir, 'collector');
  let names: string[];
  let built: BuiltSources;
  let ebpf: EbpfSource | null = null;
  if (flags.measure) {
    const m = measuredSources(flags.measure, { scopesDir: flags.scopes ?? join(stateDir, 'scopes'), stateDir });
    names = m.names;
    built = { sources: m.sources, eventSources: m.eventSources };
    ebpf = m.ebpf;
  } else {
    names = [...(flags.source ?? config.collector.sources)];
    if (flags.events && !names.includes('perf')) names.push('perf');
    if (flags.ebpf && !names.includes('ebpf')) names.push('ebpf');
    const options = {
      ...config.collector,
      ...(flags.events ? { perf: { ...config.collector.perf, events: flags.events } } : {}),
      ...(flags.ebpf ? { ebpf: { ...config.collector.ebpf, programs: flags.ebpf } } : {}),
    };
    built = buildSources(names, options, { stateDir });
    ebpf = built.sources.find((s): s is EbpfSource => s instanceof EbpfSource) ?? null;
    if (flags.scopes) {
      built.sources.push(new PartitionScopes({ dir: flags.scopes, events: flags.events ?? config.collector.perf?.events ?? [...DEFAULT_PERF_EVENTS] }));
      if (!names.includes('perf')) names.push('perf');
    }
  }
  const sinkKind: SinkKind = flags.sink ?? config.busKind;
  const bus = sinkKind === 'stdout' || sinkKind === 'http' ? null : await createBus(config);
  if (bus && sinkKind === 'kafka') {
    // A node collector must start even while Kafka is away: it spools, and keeps trying to reach it.
    void ensureTopicsEventually(bus, ['samples', 'events'], 'collector');
  } else if (bus) {
    await bus.start();
    await bus.ensureTopics(['samples', 'events']);
  }
  const sink = createSink(sinkKind, { bus, stateDir, spoolMaxBytes: config.collector.spoolMaxBytes, http: config.collector.http });
  await sink.producer.start();
  const collectorId = `${node}/${names.join('+')}`;
  let agent: CollectorAgent | null = null;
  const figures = () => ({
    droppedBatches: (agent?.stats.dropped ?? 0) + (sink.spooling?.spool.stats.droppedBatches ?? 0),
    ...(sink.spooling ? { spoolBatches: sink.spooling.spool.stats.batches, spoolBytes: sink.spooling.spool.stats.bytes, lastSendMs: sink.spooling.lastSendMs } : {}),
    ...(ebpf ? { ebpfDroppedKeys: ebpf.droppedKeys() } : {}),
  });
  const self = new SelfTelemetry(figures);
  const metricsListen = flags.metricsListen ?? config.collector.metricsListen;
  const metrics = metricsListen === 'off' ? null : new MetricsServer(collectorMetrics(collectorId, () => agent?.stats, figures), metricsListen, 'collector metrics');
  agent = new CollectorAgent({
    node,
    collectorId,
    sources: [...built.sources, self],
    eventSources: built.eventSources,
    intervalMs: flags.interval ?? flags.measure?.intervalMs ?? config.collector.intervalMs,
    producer: sink.producer,
    sequence: SequenceFile.forCollector(stateDir, collectorId),
    eventSequence: SequenceFile.forCollector(stateDir, collectorId, 'events'),
    ...(flags.count !== undefined ? { maxBatches: flags.count } : {}),
  });
  const started = Date.now();
  const stop = async () => {
    // SIGTERM must be done within 5 s: hand the last batches to the sink, forward what the spool holds
    // for up to 2.5 s (the rest stays on disk for the next start), then let the bus go.
    await agent.shutdown(800);
    await sink.producer.shutdown(2500);
    await Promise.race([bus?.shutdown(800), new Promise((r) => setTimeout(r, 800).unref())]);
    await metrics?.shutdown();
    const s = agent.stats;
    const spool = sink.spooling?.spool.stats;
    process.stderr.write(
      `collector ${collectorId}: sent ${s.batches} batches, ${s.samples} samples` +
        (s.firstSeq !== null ? `, seq ${s.firstSeq}..${s.lastSeq}` : '') +
        (s.eventBatches ? `; ${s.eventBatches} event batches, ${s.events} events` : '') +
        (spool?.batches ? `; ${spool.batches} batches still spooled` : '') +
        (s.dropped + (spool?.droppedBatches ?? 0) ? `; ${s.dropped + (spool?.droppedBatches ?? 0)} batches dropped` : '') +
        ` in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  };
  onSignal(stop);
  if (metrics) {
    await metrics.start().catch(async (err: unknown) => {
      await sink.producer.shutdown(0);
      await bus?.shutdown(800);
      throw metricsPortError(err, metricsListen, 'collector', flags.metricsListen !== undefined) ?? err;
    });
    process.stderr.write(`collector metrics on http://${metrics.address}/metrics\n`);
  }
  await agent.start();
  // The orchestrator stops a collector it started by this pid (SIGTERM: flush, then exit).
  if (flags.scopes) {
    mkdirSync(flags.scopes, { recursive: true });
    writeFileSync(join(flags.scopes, 'collector.pid'), `${process.pid}\n`);
  }
  process.stderr.write(`collector ${collectorId} running every ${flags.interval ?? flags.measure?.intervalMs ?? config.collector.intervalMs} ms; ${sinkKind === 'stdout' ? 'sink: stdout' : sinkKind === 'http' ? `sink: ${config.collector.http?.url}` : describeTargets(config)}\n`);
  if (flags.count !== undefined || flags.duration !== undefined) {
    await Promise.race([
      flags.count !== undefined ? agent.done : new Promise(() => undefined),
      flags.duration !== undefined ? new Promise((r) => setTimeout(r, flags.duration)) : new Promise(() => undefined),
    ]);
    await stop();
  }
}

/** `--probe-events`: the perf source's own answer for this node, as JSON or one line per event. */
async function probe(events: string[], json: boolean): Promise<void> {
  const problems = events.flatMap((e) => { try { parseEventName(e); return []; } catch (err) { return [(err as Error).message]; } });
  if (problems.length) throw new UsageError(`--probe-events: ${problems.join('; ')}`);
  const r = await probeEvents(events);
  if (json) return void process.stdout.write(JSON.stringify(r) + '\n');
  for (const e of r.counting) process.stdout.write(`${e}: counts\n`);
  for (const u of r.unsupported) process.stdout.write(`${u.event}: cannot count: ${u.reason}\n`);
}

function cpuListOption(value: string): string {
  const parsed = housekeepingCpusSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`"${value}": ${parsed.error.issues[0]?.message ?? 'expected a Linux cpu list'}`);
  return parsed.data;
}

function measureOption(value: string): Measure {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`expected JSON (an experiment's measure: section): ${(err as Error).message}`);
  }
  const parsed = measureSchema.safeParse(json);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues.map((i) => `measure.${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}
