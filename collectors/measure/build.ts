/**
 * The sources of a measured experiment's collector, from its `measure:` settings (schema.ts):
 * procfs, perf per CPU, eBPF, inventory and logs node-wide, and the partition scopes (perf by
 * cgroup, one counter set per partition the orchestrator hands over). Where a node cannot run a
 * source (no PMU event, no BTF, no libbpf), the source is left out with a warning and the others
 * go on: the default asks for what is useful for interference "where supported".
 */
import { componentLogger } from '../../core/logger.js';
import { EbpfSource } from '../ebpf/ebpf.js';
import { ebpfConfigSchema } from '../ebpf/config.js';
import { InventoryEvents, LogEvents, type EventSource } from '../event-source.js';
import { inventoryConfigSchema } from '../inventory/config.js';
import { InventorySource } from '../inventory/inventory.js';
import { LogStream } from '../logs/log-stream.js';
import { perfConfigSchema } from '../perf/config.js';
import { PerfSource } from '../perf/perf.js';
import { procfsConfigSchema } from '../procfs/config.js';
import { ProcfsSource } from '../procfs/procfs.js';
import { PartitionScopes } from '../scopes/partition-scopes.js';
import type { SampleBatch } from '../sample-batch.js';
import type { SampledTick, SamplerSlot } from '../sampler/native-sampler.js';
import type { Source, SourceSample } from '../source.js';
import type { Measure } from './schema.js';
import { join } from 'node:path';

export interface MeasuredSources {
  sources: Source[];
  eventSources: EventSource[];
  scopes: PartitionScopes | null;
  /** The eBPF source (for self telemetry: keys dropped by full maps), when asked for. */
  ebpf: EbpfSource | null;
  /** Names for the collector id, e.g. `procfs+perf+ebpf`. */
  names: string[];
}

export function measuredSources(measure: Measure, o: { scopesDir: string; stateDir: string }): MeasuredSources {
  const sources: Source[] = [];
  const eventSources: EventSource[] = [];
  const names: string[] = [];
  let scopes: PartitionScopes | null = null;
  let ebpfSource: EbpfSource | null = null;
  if (measure.procfs) {
    sources.push(new ProcfsSource(procfsConfigSchema.parse({})));
    names.push('procfs');
  }
  if (measure.perf) {
    if (measure.perf.nodeWide) sources.push(new Optional(new PerfSource(perfConfigSchema.parse({ events: measure.perf.events }))));
    if (measure.perf.partitions) {
      scopes = new PartitionScopes({ dir: o.scopesDir, events: measure.perf.events });
      sources.push(scopes);
    }
    names.push('perf');
  }
  if (measure.ebpf && measure.ebpf.programs.length) {
    ebpfSource = new EbpfSource(ebpfConfigSchema.parse({ programs: measure.ebpf.programs }));
    const ebpf = new Optional(ebpfSource);
    sources.push(scopes ? new Attributed(ebpf, scopes) : ebpf);
    names.push('ebpf');
  }
  if (measure.inventory) eventSources.push(new InventoryEvents(new InventorySource(inventoryConfigSchema.parse({}))));
  if (measure.logs?.length) eventSources.push(new LogEvents(measure.logs.map((input) => LogStream.fromConfig(input, join(o.stateDir, 'logs')))));
  return { sources, eventSources, scopes, ebpf: ebpfSource, names };
}

/** A source that is left out, with a warning, when it cannot start on this node. */
export class Optional implements Source {
  private running = false;
  private readonly log = componentLogger('measure');
  constructor(readonly inner: Source) {}
  get name(): string {
    return this.inner.name;
  }
  async start(): Promise<void> {
    try {
      await this.inner.start();
      this.running = true;
    } catch (err) {
      this.log.warn({ source: this.inner.name, err: (err as Error).message }, `The ${this.inner.name} source is left out on this node: ${(err as Error).message}`);
    }
  }
  read(): Promise<SourceSample[]> {
    return this.running ? this.inner.read() : Promise.resolve([]);
  }
  readInto(batch: SampleBatch): void | Promise<void> {
    if (!this.running) return;
    if (this.inner.readInto) return this.inner.readInto(batch);
    return this.inner.read().then((xs) => { for (const x of xs) batch.addFields(x); });
  }
  /** A source left out has no slots; one that runs is read natively where it can be. */
  sampledSlots(intervalMs: number): { slots: SamplerSlot[] } | { reason: string } {
    if (!this.running) return { slots: [] };
    if (!this.inner.sampledSlots || !this.inner.readSampledInto) return { reason: `the ${this.inner.name} source has no native read` };
    return this.inner.sampledSlots(intervalMs);
  }
  readSampledInto(batch: SampleBatch, tick: SampledTick, first: number): void {
    if (this.running) this.inner.readSampledInto!(batch, tick, first);
  }
  readSampled(tick: SampledTick, first: number): SourceSample[] {
    if (!this.running) return [];
    if (!this.inner.readSampled) throw new Error(`the ${this.inner.name} source has no readSampled`);
    return this.inner.readSampled(tick, first);
  }
  beforeSampledTicks(lastTs: bigint): void {
    if (this.running) this.inner.beforeSampledTicks?.(lastTs);
  }
  shutdown(): Promise<void> {
    return this.running ? this.inner.shutdown() : Promise.resolve();
  }
}

/** Stamps partition and run on a source's per-cgroup samples (eBPF maps) from the live partition scopes. */
class Attributed implements Source {
  constructor(private readonly inner: Source, private readonly scopes: PartitionScopes) {}
  get name(): string {
    return this.inner.name;
  }
  start(): Promise<void> {
    return this.inner.start();
  }
  async read(): Promise<SourceSample[]> {
    return this.scopes.attribute(await this.inner.read());
  }
  /** The inner source's samples straight into the batch, then attributed there (no sample objects). */
  readInto(batch: SampleBatch): void | Promise<void> {
    const from = batch.count;
    if (!this.inner.readInto) return this.read().then((xs) => { for (const x of xs) batch.addFields(x); });
    const pending = this.inner.readInto(batch);
    if (pending) return pending.then(() => this.scopes.attributeInBatch(batch, from));
    this.scopes.attributeInBatch(batch, from);
  }
  sampledSlots(intervalMs: number): { slots: SamplerSlot[] } | { reason: string } {
    if (!this.inner.sampledSlots || !this.inner.readSampledInto) return { reason: `the ${this.inner.name} source has no native read` };
    return this.inner.sampledSlots(intervalMs);
  }
  /** The inner source's samples of the tick, encoded straight into the batch and attributed there, like `read()`'s. */
  readSampledInto(batch: SampleBatch, tick: SampledTick, first: number): void {
    const from = batch.count;
    this.inner.readSampledInto!(batch, tick, first);
    this.scopes.attributeInBatch(batch, from);
  }
  beforeSampledTicks(lastTs: bigint): void {
    this.inner.beforeSampledTicks?.(lastTs);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
