/**
 * One node's collector for the experiment's lifetime, in one of three forms:
 * - in-process (a local node when the orchestrator's bus is the embedded one): a CollectorAgent in
 *   this process, producing to that bus;
 * - a process on the node (`isoscope collector --measure … --scopes … --node …` through the node's
 *   transport, locally or over SSH), restarted with backoff when it dies: each restart is an
 *   `events` record of kind `collector_restart` (exit status, how long it was down), and its batch
 *   sequence continues from its state file, so batches lost with it show up as `seq_gap`;
 * - resident (started by someone else, e.g. a system service): nothing to start or stop.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BusProducer } from '../../bus/bus.js';
import { CollectorAgent } from '../../collectors/agent.js';
import { measuredSources } from '../../collectors/measure/build.js';
import type { Measure } from '../../collectors/measure/schema.js';
import { SelfTelemetry } from '../../collectors/self/self-telemetry.js';
import { SequenceFile } from '../../collectors/sequence.js';
import { componentLogger } from '../../core/logger.js';
import type { NodeTransport } from '../transport/transport.js';

export interface NodeCollector {
  /** `in-process`, `process` or `resident`. */
  readonly kind: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Times the collector was restarted after dying. */
  readonly restarts: number;
}

export class InProcessCollector implements NodeCollector {
  readonly kind = 'in-process';
  readonly restarts = 0;
  private agent: CollectorAgent | null = null;

  constructor(private readonly o: { identity: string; measure: Measure; scopesDir: string; stateDir: string; producer: BusProducer }) {}

  async start(): Promise<void> {
    const m = measuredSources(this.o.measure, { scopesDir: this.o.scopesDir, stateDir: this.o.stateDir });
    const collectorId = `${this.o.identity}/${m.names.join('+')}`;
    const ebpf = m.ebpf;
    const self = new SelfTelemetry(() => ({ droppedBatches: this.agent?.stats.dropped ?? 0, ...(ebpf ? { ebpfDroppedKeys: ebpf.droppedKeys() } : {}) }));
    this.agent = new CollectorAgent({
      node: this.o.identity,
      collectorId,
      sources: [...m.sources, self],
      eventSources: m.eventSources,
      intervalMs: this.o.measure.intervalMs,
      producer: this.o.producer,
      sequence: SequenceFile.forCollector(this.o.stateDir, collectorId),
      eventSequence: SequenceFile.forCollector(this.o.stateDir, collectorId, 'events'),
    });
    await this.agent.start();
  }

  async stop(): Promise<void> {
    // Its own samples: worth waiting for (a loaded machine can hold many batches in the send queue).
    await this.agent?.shutdown(30_000);
    this.agent = null;
  }
}

export interface ProcessCollectorOptions {
  node: string;
  transport: () => Promise<NodeTransport>;
  /** Full argv of the collector on the node. */
  argv: string[];
  env: Record<string, string>;
  /** Where the collector writes its pid (inside its scopes directory), for a graceful stop. */
  pidFile: string;
  /** Called after the collector died and before it is started again. */
  onRestart: (info: { exit: string; downSince: bigint; output: string }) => Promise<void>;
}

export class ProcessCollector implements NodeCollector {
  readonly kind = 'process';
  restarts = 0;
  private readonly ac = new AbortController();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private readonly log = componentLogger('measure');

  constructor(private readonly o: ProcessCollectorOptions) {}

  async start(): Promise<void> {
    const t = await this.o.transport();
    const first = this.once(t);
    // It runs for the experiment's lifetime; returning early means it could not start.
    const early = await Promise.race([first.then((r) => r), sleep(1500).then(() => null)]);
    if (early) throw new Error(`node ${this.o.node}: the collector (${this.o.argv.slice(0, 2).join(' ')} collector …) exited at once (${early.exit}): ${early.output || '(no output)'}`);
    this.loop = this.supervise(t, first);
  }

  private async once(t: NodeTransport): Promise<{ exit: string; output: string }> {
    const lines: string[] = [];
    try {
      const r = await t.exec(this.o.argv, {
        env: this.o.env,
        signal: this.ac.signal,
        onLine: (_s, line) => {
          lines.push(line);
          if (lines.length > 20) lines.shift();
        },
      });
      return { exit: r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`, output: lines.slice(-5).join(' | ') };
    } catch (err) {
      return { exit: (err as Error).message, output: lines.slice(-5).join(' | ') };
    }
  }

  private async supervise(t: NodeTransport, running: Promise<{ exit: string; output: string }>): Promise<void> {
    let delay = 500;
    for (;;) {
      const ended = await running;
      if (this.stopping) return;
      const downSince = BigInt(Date.now()) * 1_000_000n;
      this.restarts++;
      this.log.warn({ node: this.o.node, exit: ended.exit }, `The collector on node ${this.o.node} died (${ended.exit}); starting it again.`);
      await this.o.onRestart({ exit: ended.exit, downSince, output: ended.output }).catch(() => undefined);
      await sleep(delay, undefined, { signal: this.ac.signal }).catch(() => undefined);
      if (this.stopping) return;
      delay = Math.min(delay * 2, 10_000);
      const fresh = await this.o.transport().catch(() => t);
      running = this.once(fresh);
    }
  }

  /** SIGTERM through the pid file (the collector flushes within 5 s), then the transport's kill. */
  async stop(): Promise<void> {
    this.stopping = true;
    const t = await this.o.transport().catch(() => null);
    await t?.exec(['sh', '-c', 'p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -TERM "$p"', 'stop', this.o.pidFile], { timeoutMs: 10_000 }).catch(() => undefined);
    if (this.loop) await Promise.race([this.loop, sleep(8000)]);
    this.ac.abort();
    await this.loop;
  }
}

/** A collector someone else runs on the node: nothing to start or stop; its samples are checked for. */
export class ResidentCollector implements NodeCollector {
  readonly kind = 'resident';
  readonly restarts = 0;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** The collector's state (sequence files, spool) for a node, below a base directory. */
export const collectorStateDir = (base: string, identity: string) => join(base, `collector-${identity}`);
