/**
 * The contract between the collector agent and its sources. A source reads the machine and returns
 * the samples of one interval, without the batch identity (node, collector, seq, idx, ts), which
 * the agent stamps on every sample of the batch alike.
 */
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordInput } from '../schema/records.js';
import type { SampleBatch } from './sample-batch.js';

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
}
