/**
 * The measurement of an experiment: one collector per node it uses, started at the node's first
 * cell with the experiment's `measure:` settings and the node's name as identity, stopped when the
 * experiment ends; partitions handed to the collectors as the runner creates them (handover.ts);
 * and a check, before a node's first workload, that its collector's samples reach the bus.
 */
import { probeEvents, type EventProbe } from '../../collectors/perf/probe.js';
import { join, resolve } from 'node:path';
import { slugWithHash } from '../drivers/cgroup-path.js';
import type { Bus, BusProducer } from '../../bus/bus.js';
import { packageRoot } from '../../collectors/ebpf/locate.js';
import type { ScopeAck } from '../../collectors/scopes/scope-file.js';
import { componentLogger } from '../../core/logger.js';
import type { PartitionDriver, PartitionState } from '../drivers/driver.js';
import type { RecordEmitter } from '../emitter.js';
import type { LoadedExperiment } from '../experiment/load.js';
import type { NodeCollector as NodeCollectorSpec } from '../experiment/schema.js';
import type { Nodes } from '../nodes.js';
import { SampleArrivals } from './arrivals.js';
import { CollectorBusEndpoint } from './bus-endpoint.js';
import { handOver, withdraw } from './handover.js';
import { InProcessCollector, ProcessCollector, ResidentCollector, type NodeCollector } from './node-collector.js';

export interface MeasurementOptions {
  experiment: LoadedExperiment;
  nodes: Nodes;
  emitter: RecordEmitter;
  /** The orchestrator's producer (where in-process collectors send). */
  producer: BusProducer;
  /** The orchestrator's bus, when it has one (not when it posts to a running `isoscope up`). */
  bus: Bus | null;
  /** Kafka brokers when the bus is Kafka (handed to collectors on nodes). */
  kafkaBrokers?: string[];
  /** Where in-process collectors keep their state (sequence files). */
  stateDir: string;
  /** Where the bus endpoint for collectors on other machines listens (embedded bus only). @default 127.0.0.1:0 */
  httpListen?: string;
  /** How long a hand-over waits for the collector's ack. @default 20000 */
  handoverTimeoutMs?: number;
  /** How long the runner waits for a node's first samples. @default 30000 */
  arrivalTimeoutMs?: number;
}

export interface NodeMeasure {
  kind: string;
  identity: string;
  restarts: number;
}

/**
 * Where partitions are handed to a node's managed collector unless the node says (`scopesDir`):
 * one directory per experiment and orchestrator (its data directory), so two experiments running at
 * once on a machine with the same node names neither clear each other's scopes when their
 * collectors start nor stop each other's collector through its pid file; stable across restarts, so
 * a restarted orchestrator finds what its crashed predecessor left.
 * @example defaultScopesDir('stream-interference', '/root/.isoscope/data', 'local') // '/tmp/isoscope/scopes/stream-interference-<8 hex>/local'
 */
export function defaultScopesDir(experiment: string, stateDir: string, identity: string): string {
  return `/tmp/isoscope/scopes/${slugWithHash(experiment, resolve(stateDir))}/${identity}`;
}

/** The command that runs this very isoscope (local nodes). */
export function selfCommand(): string[] {
  return [process.execPath, join(packageRoot(), 'bin', 'isoscope.js')];
}

export class Measurement {
  private readonly collectors = new Map<string, Promise<NodeCollector>>();
  private readonly arrived = new Set<string>();
  private arrivals: SampleArrivals | null = null;
  private arrivalsStarted: Promise<void> | null = null;
  private readonly log = componentLogger('measure');

  constructor(private readonly o: MeasurementOptions) {}

  get enabled(): boolean {
    return this.o.experiment.spec.measure.enabled;
  }

  private settings(node: string): NodeCollectorSpec {
    return this.o.nodes.spec(node).collector ?? { mode: 'managed', env: {} };
  }

  /** The node name a node's collector stamps on its samples. */
  identity(node: string): string {
    return this.settings(node).reports ?? node;
  }

  scopesDir(node: string): string {
    return this.settings(node).scopesDir ?? defaultScopesDir(this.o.experiment.spec.experiment, this.o.stateDir, this.identity(node));
  }

  /** What runs on each node so far (provenance of the runs). */
  describe(nodes: readonly string[]): Record<string, NodeMeasure> {
    const out: Record<string, NodeMeasure> = {};
    for (const n of nodes) out[n] = { kind: this.kindOf(n), identity: this.identity(n), restarts: 0 };
    return out;
  }

  /** Restarts so far per node. */
  async restarts(nodes: readonly string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const n of nodes) {
      const c = await this.collectors.get(n)?.catch(() => null);
      if (c) out[n] = c.restarts;
    }
    return out;
  }

  /** The program a managed collector process on the node is started with (preflight checks it); null when none is started there. */
  processCommand(node: string): string | null {
    if (!this.enabled || this.kindOf(node) !== 'process') return null;
    const s = this.settings(node);
    return (s.command ?? (this.o.nodes.spec(node).transport === 'local' ? selfCommand() : ['isoscope']))[0]!;
  }

  /**
   * Which of `events` the node's collector can open, asked the way that collector runs: in this
   * process for an in-process collector, else `<collector command> collector --probe-events … --json`
   * on the node (preflight, before any run). null when the orchestrator starts no collector there
   * (a resident collector counts what it was configured to).
   * @throws when the probe could not run or answered something else than its JSON
   */
  async probeEvents(node: string, events: readonly string[]): Promise<EventProbe | null> {
    if (!this.enabled) return null;
    const kind = this.kindOf(node);
    if (kind === 'resident') return null;
    if (kind === 'in-process') return probeEvents(events);
    const s = this.settings(node);
    const command = s.command ?? (this.o.nodes.spec(node).transport === 'local' ? selfCommand() : ['isoscope']);
    const t = await this.o.nodes.get(node);
    const r = await t.exec([...command, 'collector', '--probe-events', ...events, '--json'], { env: { ISOSCOPE_LOG_LEVEL: 'error', ...s.env }, timeoutMs: 60_000 });
    const out = r.stdout.trim().split('\n').pop() ?? '';
    let parsed: EventProbe | null = null;
    try {
      parsed = JSON.parse(out) as EventProbe;
    } catch {
      // reported below with what the command printed
    }
    if (r.code !== 0 || !parsed || !Array.isArray(parsed.counting) || !Array.isArray(parsed.unsupported)) {
      throw new Error(`${command.join(' ')} collector --probe-events … exited ${r.code}: ${(r.stderr.trim() || out || '(no output)').split('\n').slice(-3).join(' ')}`);
    }
    return parsed;
  }

  private kindOf(node: string): string {
    const s = this.settings(node);
    if (s.mode === 'resident') return 'resident';
    return this.o.nodes.spec(node).transport === 'local' && !s.command && !s.sink ? 'in-process' : 'process';
  }

  /** Starts the node's collector once (later calls wait for the first); rejects with why it cannot run. */
  ensure(node: string): Promise<NodeCollector> {
    let c = this.collectors.get(node);
    if (!c) {
      c = this.startCollector(node);
      c.catch(() => this.collectors.delete(node));
      this.collectors.set(node, c);
    }
    return c;
  }

  private async startCollector(node: string): Promise<NodeCollector> {
    const s = this.settings(node);
    const identity = this.identity(node);
    const dir = this.scopesDir(node);
    const measure = this.o.experiment.spec.measure;
    await this.startArrivals();
    let c: NodeCollector;
    const kind = this.kindOf(node);
    if (kind === 'resident') c = new ResidentCollector();
    else {
      // Scopes a crashed orchestrator left behind would be counted again.
      const t = await this.o.nodes.get(node);
      await t.exec(['sh', '-c', 'mkdir -p "$1" && rm -f "$1"/*.json "$1"/*.ack "$1"/.*.tmp', 'clean', dir], { timeoutMs: 30_000 });
      if (kind === 'in-process') {
        c = new InProcessCollector({ identity, measure, scopesDir: dir, stateDir: join(this.o.stateDir, `collector-${identity}`), producer: this.o.producer });
      } else {
        const sink = s.sink ?? (this.o.bus?.kind === 'kafka' ? 'kafka' : 'http');
        const command = s.command ?? (this.o.nodes.spec(node).transport === 'local' ? selfCommand() : ['isoscope']);
        const base = [...command, 'collector', '--measure', JSON.stringify(measure), '--scopes', dir, '--node', identity, '--sink', sink];
        let argv = base;
        let sinkEnv: Record<string, string>;
        if (sink === 'kafka') {
          const brokers = s.kafkaBrokers ?? this.o.kafkaBrokers ?? [];
          if (!brokers.length) throw new Error(`node ${node}: its collector's sink is kafka, but no brokers are known: give the node collector.kafkaBrokers or run with the Kafka bus`);
          sinkEnv = { ISOSCOPE_BUS: 'kafka', ISOSCOPE_KAFKA_BROKERS: brokers.join(',') };
        } else {
          if (this.o.bus?.kind !== 'embedded') throw new Error(`node ${node}: collector.sink http needs the orchestrator's embedded bus (its bus is ${this.o.bus?.kind ?? 'a running isoscope up'}); use sink kafka`);
          const endpoint = await this.endpoint();
          // The token goes through a 0600 file (stdin of the transport), not the command line.
          const tokenFile = `${dir}/.collector-token`;
          const w = await t.exec(['sh', '-c', 'umask 077 && cat > "$1"', 'token', tokenFile], { stdin: endpoint.token, timeoutMs: 30_000 });
          if (w.code !== 0) throw new Error(`node ${node}: cannot write the collector's token to ${tokenFile}: ${w.stderr.trim()}`);
          argv = ['sh', '-c', 'ISOSCOPE_COLLECTOR_HTTP_TOKEN=$(cat "$0") && export ISOSCOPE_COLLECTOR_HTTP_TOKEN && exec "$@"', tokenFile, ...base];
          sinkEnv = { ISOSCOPE_COLLECTOR_HTTP_URL: s.httpUrl ?? endpoint.url };
        }
        c = new ProcessCollector({
          node,
          transport: () => this.o.nodes.get(node),
          argv,
          env: { ...sinkEnv, ISOSCOPE_DATA_DIR: `/tmp/isoscope/collector-${identity}`, ...s.env },
          pidFile: `${dir}/collector.pid`,
          onRestart: async ({ exit, output }) => {
            await this.o.emitter.notice({ node, kind: 'collector_restart', level: 'warning', message: `The collector on node ${node} died (${exit}) and is started again; samples between are missing.`, fields: { exit, output } });
          },
        });
      }
    }
    await c.start();
    this.log.info({ node, kind, identity, scopes: dir }, `The ${kind} collector of node ${node} is running (samples stamped ${identity}).`);
    return c;
  }

  private endpointStarted: Promise<CollectorBusEndpoint> | null = null;

  private endpoint(): Promise<CollectorBusEndpoint> {
    this.endpointStarted ??= (async () => {
      const e = new CollectorBusEndpoint(this.o.producer, this.o.httpListen ?? '127.0.0.1:0');
      await e.start();
      this.log.info({ url: e.url }, `Collectors on other machines post their batches to ${e.url}.`);
      return e;
    })();
    return this.endpointStarted;
  }

  private startArrivals(): Promise<void> {
    if (!this.o.bus) return Promise.resolve();
    this.arrivalsStarted ??= (async () => {
      this.arrivals = new SampleArrivals(this.o.bus!);
      await this.arrivals.start();
    })();
    return this.arrivalsStarted;
  }

  /**
   * Waits until samples from each node's collector reached the bus (once per node).
   * @throws naming the node, the name its samples should carry, and the names that did arrive.
   */
  async checkArrivals(nodes: readonly string[], signal?: AbortSignal): Promise<void> {
    if (!this.arrivals) return;
    const timeout = this.o.arrivalTimeoutMs ?? Math.max(60_000, 5 * this.o.experiment.spec.measure.intervalMs);
    const missing: string[] = [];
    await Promise.all(nodes.filter((n) => !this.arrived.has(n)).map(async (n) => {
      if (await this.arrivals!.waitFor(this.identity(n), timeout, signal)) this.arrived.add(n);
      else missing.push(n);
    }));
    if (missing.length && !signal?.aborted) {
      const others = this.arrivals.others(this.o.nodes.names.map((n) => this.identity(n)));
      throw new Error(missing.map((n) => `node ${n}: no samples from its ${this.kindOf(n)} collector reached the bus within ${timeout / 1000} s (expected samples stamped node "${this.identity(n)}"${others.length ? `; samples arrived from ${others.map((o) => `"${o}"`).join(', ')}: set the node's collector.reports to the name its collector uses` : ''})`).join('; '));
    }
  }

  /** Hands the partitions whose driver offers a scope to their node's collector; returns the acks by partition. */
  async handOver(states: readonly PartitionState[], run: string, driver: (s: PartitionState) => PartitionDriver): Promise<Record<string, ScopeAck>> {
    const acks: Record<string, ScopeAck> = {};
    for (const s of states) {
      const scope = driver(s).measureScope?.(s);
      if (!scope || !this.o.experiment.spec.measure.perf || !this.o.experiment.spec.measure.perf.partitions) continue;
      const resident = this.kindOf(s.node) === 'resident';
      let ack: ScopeAck;
      try {
        ack = await handOver(await this.o.nodes.get(s.node), this.scopesDir(s.node), { partition: s.name, run, cgroups: scope.cgroups }, this.o.handoverTimeoutMs ?? (resident ? 5000 : 20_000));
      } catch (err) {
        // A resident collector may not watch a scopes directory: its partitions are then counted node-wide only.
        if (!resident) throw err;
        ack = { counting: [], unsupported: [], labels: [], error: (err as Error).message };
        this.log.warn({ node: s.node, partition: s.name }, `${(err as Error).message}; partition ${s.name} is counted node-wide only.`);
      }
      if (ack.error && !resident) throw new Error(`node ${s.node}: the collector cannot count partition ${s.name}: ${ack.error}`);
      acks[`${s.node}/${s.name}`] = ack;
    }
    return acks;
  }

  /** Takes the partitions back (the collector's final read done); never throws. */
  async withdraw(states: readonly PartitionState[], run: string, driver: (s: PartitionState) => PartitionDriver): Promise<void> {
    await Promise.all(states.map(async (s) => {
      if (!driver(s).measureScope?.(s)) return;
      const t = await this.o.nodes.get(s.node).catch(() => null);
      if (t && !(await withdraw(t, this.scopesDir(s.node), run, s.name, 5000).catch(() => false))) this.log.warn({ node: s.node, partition: s.name }, `The collector of node ${s.node} did not confirm its final read of partition ${s.name}.`);
    }));
  }

  async stop(): Promise<void> {
    const all = await Promise.allSettled([...this.collectors.values()]);
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.stop().catch(() => undefined) : undefined)));
    this.collectors.clear();
    await this.arrivals?.shutdown();
    await (await this.endpointStarted?.catch(() => null))?.shutdown();
  }
}
