/**
 * The contract between the collector agent and its sources. A source reads the machine and returns
 * the samples of one interval, without the batch identity (node, collector, seq, idx, ts), which
 * the agent stamps on every sample of the batch alike.
 */
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordInput } from '../schema/records.js';

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
}
