/**
 * The contract between the collector agent and its sources. A source reads the machine and returns
 * the samples of one interval, without the batch identity (node, collector, seq, idx, ts), which
 * the agent stamps on every sample of the batch alike.
 */
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordInput } from '../schema/records.js';
import type { SampleBatch } from './sample-batch.js';
import type { SampledTick, SamplerSlot } from './sampler/native-sampler.js';

/** A sample as a source produces it. */
export type SourceSample = Omit<RecordInput<'samples'>, 'ts' | 'node' | 'collector' | 'seq' | 'idx' | 'source'>;

export interface Source extends Lifecycle {
  /** Value of the `source` column of its samples (procfs, perf, ebpf …). */
  readonly name: string;
  /**
   * Samples for the interval that ended now. The first call after start may return none (a source
   * of counters needs two readings for a delta).
   */
  read(): Promise<SourceSample[]>;
  /**
   * The same samples as `read()`, appended straight to the interval's batch (no sample objects):
   * the agent's path when a source has it. A source that throws leaves the batch as it was.
   */
  readInto?(batch: SampleBatch): void | Promise<void>;
  /**
   * The file descriptors the native sampler may read for this source at every tick, off the event
   * loop (after `start()`), or why this source cannot be read that way. Sources without it are read
   * on the agent's JS timer, and so is every other source of that agent.
   */
  sampledSlots?(intervalMs: number): { slots: SamplerSlot[] } | { reason: string };
  /**
   * Appends the samples of one tick the native sampler read: this source's slot i is the tick's
   * slot `first + i`. Like `readInto`, a source that throws leaves the batch as it was.
   */
  readSampledInto?(batch: SampleBatch, tick: SampledTick, first: number): void;
  /**
   * `readSampledInto` as sample objects, for wrappers that stamp fields on them (eBPF samples
   * attributed to a partition by cgroup).
   */
  readSampled?(tick: SampledTick, first: number): SourceSample[];
  /** Called before each drain of the native sampler's ticks with the time of the last one drained. */
  beforeSampledTicks?(lastTs: bigint): void;
  /**
   * For sources whose file descriptors come and go while the agent runs (partition scopes): the
   * agent, sampling natively, hands over `reslot`, and the source makes every change of its fds
   * inside `reslot(change)`. The agent stops the sampler thread, sends the ticks it read (with the
   * slots they were read with), runs `change` (final reads, closing and opening fds happen only
   * there, never while the thread reads them), then starts the sampler again on every source's
   * slots as they are now. Null hands the JS timer back (the source changes its fds freely).
   */
  sampledSlotsChange?(reslot: ((change: () => Promise<void>) => Promise<void>) | null): void;
}
