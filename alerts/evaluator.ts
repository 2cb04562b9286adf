/**
 * The live evaluator: its own consumer group on `samples` (plus a per-start control feed of `runs`
 * and `partitions`, so it knows which run and partition own each sample without waiting for
 * ingest), the rule engine in memory, and for every alert transition: the deliveries written to the
 * outbox (durable) and the `alerts` record sent to the bus (ingest writes it to the store), both
 * before the samples batch is committed. Run starts trigger the baseline loads, run ends resolve
 * the run's incidents.
 *
 * Samples older than `maxAgeMs` when they arrive are skipped (counted): a new group reading a long
 * retained log must not fire alerts for last week.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Bus, BusConsumer, BusProducer, DeliveredBatch } from '../bus/bus.js';
import { withBackoff } from '../core/backoff.js';
import { componentLogger } from '../core/logger.js';
import { SequenceFile } from '../collectors/sequence.js';
import { OwnershipIndex } from '../ingest/ownership.js';
import { decode, encode } from '../schema/codec.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { Sample } from '../schema/records.js';
import type { Store } from '../store/store.js';
import { Baselines } from './baselines.js';
import { Deliverer } from './delivery/deliverer.js';
import { Outbox, type OutboxEntry } from './delivery/outbox.js';
import { RuleEngine, type Transition } from './engine.js';
import { alertRecord, deliveryFailedEvent, outboxEntries } from './records.js';
import type { RuleSet } from './rules/load.js';

export interface EvaluatorOptions {
  rules: RuleSet;
  /** Directory of the delivery outbox (and the events sequence). */
  outboxDir: string;
  /** Base URL of the query API, for the series links. @example http://hub:7410 */
  seriesBaseUrl: string;
  /** Node name in the `alert_delivery_failed` events. */
  node: string;
  /** Where baselines come from; null: baseline rules stay silent. */
  store: Store | null;
  /** Consumer group on `samples`. @default isoscope-alerts */
  group?: string;
  /** Samples older than this on arrival are skipped, ms. @default 60000 */
  maxAgeMs?: number;
  /** Called with every sample evaluated (diagnostics). */
  onSample?: ((s: Sample) => void) | undefined;
  /** Called with every transition after it was recorded (CLI output, tests). */
  onTransition?: (t: Transition) => void;
}

export interface EvaluatorStats {
  samples: number;
  skippedOld: number;
  fired: number;
  resolved: number;
}

export class Evaluator implements Lifecycle {
  readonly stats: EvaluatorStats = { samples: 0, skippedOld: 0, fired: 0, resolved: 0 };
  readonly index = new OwnershipIndex();
  readonly engine: RuleEngine;
  readonly baselines: Baselines;
  readonly deliverer: Deliverer;
  private readonly events: SequenceFile;
  private producer: BusProducer | null = null;
  private samplesConsumer: BusConsumer | null = null;
  private controlConsumer: BusConsumer | null = null;
  private readonly abort = new AbortController();
  private readonly log = componentLogger('alerts');

  constructor(private readonly bus: Bus, private readonly o: EvaluatorOptions) {
    this.baselines = new Baselines(o.store);
    this.engine = new RuleEngine(o.rules.rules, (rule, run) => this.baselines.lookup(rule, run));
    this.events = new SequenceFile(join(o.outboxDir, 'events.seq'));
    this.deliverer = new Deliverer({ outbox: new Outbox(o.outboxDir), receivers: o.rules.receivers, onFailed: (e, reason) => this.recordFailure(e, reason) });
  }

  get group(): string {
    return this.o.group ?? 'isoscope-alerts';
  }

  async start(): Promise<void> {
    await this.bus.ensureTopics(['samples', 'runs', 'partitions', 'alerts', 'events']);
    this.producer = this.bus.producer();
    await this.producer.start();
    await this.deliverer.start();
    const controlGroup = `${this.group}.control.${hostname()}.${process.pid}.${Date.now().toString(36)}`;
    this.controlConsumer = this.bus.consumer({ group: controlGroup, topics: ['runs', 'partitions'], fromBeginning: true });
    await this.controlConsumer.run((b) => this.control(b));
    // A new group starts at the end of the topic where the bus allows it (Kafka): alerts are about now.
    this.samplesConsumer = this.bus.consumer({ group: this.group, topics: ['samples'], fromBeginning: false });
    await this.samplesConsumer.run((b) => this.samples(b));
    this.log.info({ group: this.group, rules: this.o.rules.rules.length, receivers: this.o.rules.receivers.size }, `Alerts are evaluating ${this.o.rules.rules.length} rules from ${this.o.rules.file}.`);
  }

  /** Resolves when a consumer stops; rejects if one failed. */
  stopped(): Promise<void> {
    return Promise.race([this.samplesConsumer?.stopped() ?? Promise.resolve(), this.controlConsumer?.stopped() ?? Promise.resolve()]);
  }

  /** Samples not yet evaluated. */
  lag(): Promise<number> {
    return this.samplesConsumer ? this.samplesConsumer.lag() : Promise.resolve(0);
  }

  private async control(batch: DeliveredBatch): Promise<void> {
    const out: Transition[] = [];
    for (const m of batch.messages) {
      if (batch.topic === 'partitions') {
        for (const p of decode(m.value, 'partitions').records) {
          try { this.index.applyPartition(p); } catch (err) { this.log.warn({ err }, `A partitions record cannot be used: ${(err as Error).message}`); }
        }
        continue;
      }
      for (const r of decode(m.value, 'runs').records) {
        this.index.applyRun(r);
        if (r.phase === 'start') void this.baselines.request(this.o.rules.rules, r);
        else {
          out.push(...this.engine.endRun(r.run, r.ts));
          this.baselines.forget(r.run);
        }
      }
    }
    await this.emit(out);
  }

  private async samples(batch: DeliveredBatch): Promise<void> {
    const oldest = BigInt(Date.now() - (this.o.maxAgeMs ?? 60_000)) * 1_000_000n;
    const out: Transition[] = [];
    for (const m of batch.messages) {
      const all = decode(m.value, 'samples').records;
      const fresh = all.filter((s) => s.ts >= oldest);
      this.stats.skippedOld += all.length - fresh.length;
      for (const s of fresh) {
        const owners = this.index.ownersOf(s);
        s.run = owners.run;
        s.partition = owners.partition;
      }
      this.stats.samples += fresh.length;
      if (this.o.onSample) for (const s of fresh) this.o.onSample(s);
      out.push(...this.engine.observe(fresh));
    }
    await this.emit(out);
  }

  /** Deliveries into the outbox, then the records onto the bus; both before the batch commits. */
  private async emit(transitions: Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    const entries: OutboxEntry[] = transitions.flatMap((t) => outboxEntries(t, this.o.rules.receivers, this.o.seriesBaseUrl));
    this.deliverer.enqueue(entries);
    const records = transitions.map((t) => alertRecord(t, this.o.seriesBaseUrl));
    await withBackoff(() => this.producer!.send('alerts', [{ key: null, value: encode('alerts', records) }]), { signal: this.abort.signal });
    for (const t of transitions) {
      if (t.state === 'firing') this.stats.fired++;
      else this.stats.resolved++;
      const log = t.state === 'firing' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
      log({ alert: t.alert, rule: t.rule.name, state: t.state, run: t.run, node: t.node, value: t.value }, t.message);
      this.o.onTransition?.(t);
    }
  }

  private async recordFailure(e: OutboxEntry, reason: string): Promise<void> {
    if (!this.producer) throw new Error('the alerts evaluator is not started');
    const event = deliveryFailedEvent(e, reason, this.o.node, this.events.take());
    await this.producer.send('events', [{ key: this.o.node, value: encode('events', [event]) }]);
  }

  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.abort.abort();
    await Promise.all([this.samplesConsumer?.shutdown(deadlineMs), this.controlConsumer?.shutdown(deadlineMs)]);
    await this.deliverer.shutdown(deadlineMs);
    await this.producer?.shutdown(deadlineMs);
  }
}
