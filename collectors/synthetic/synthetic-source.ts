/**
 * A source of synthetic samples for the load generator: `batchSize` samples per read until `total`
 * were produced. Sample k (0-based, per source) has value k, metric `loadgen_<k mod metrics>` and cpu
 * `k mod cpus`, so a store holding one source's samples exactly once has count = total, sum(value) =
 * total·(total−1)/2, min 0, max total−1 and total distinct values: the chaos tests check exactly that.
 */
import type { SampleBatch } from '../sample-batch.js';
import type { Source, SourceSample } from '../source.js';

export interface SyntheticSourceOptions {
  /** Samples to produce in all. */
  total: number;
  /** Samples per read (one collector batch). */
  batchSize: number;
  /** Distinct metric names. @default 8 */
  metrics?: number;
  /** Distinct cpu values. @default 4 */
  cpus?: number;
}

export class SyntheticSource implements Source {
  readonly name = 'loadgen';
  private next = 0;

  constructor(private readonly o: SyntheticSourceOptions) {
    if (!Number.isSafeInteger(o.total) || o.total < 0) throw new RangeError(`total must be a non-negative integer, got ${o.total}`);
    if (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${o.batchSize}`);
  }

  /** Samples produced so far. */
  get produced(): number {
    return this.next;
  }

  /** Sum of the values produced so far (exact: below 2^53 for any total under 1.3e8). */
  get valueSum(): number {
    return (this.next * (this.next - 1)) / 2;
  }

  async start(): Promise<void> {}

  /**
   * The same samples as `read`, written straight into the batch as the hot sources (procfs, perf)
   * write theirs: pre-encoded names, no object per sample. This is what the agent calls.
   */
  readInto(batch: SampleBatch): void {
    const n = Math.min(this.o.batchSize, this.o.total - this.next);
    const names = (this.names ??= Array.from({ length: this.o.metrics ?? 8 }, (_, m) => JSON.stringify(`loadgen_${m}`)));
    const metrics = names.length;
    const cpus = this.o.cpus ?? 4;
    for (let i = 0; i < n; i++) {
      const k = this.next + i;
      batch.addEncoded(names[k % metrics]!, k, k % cpus, 1, '');
    }
    this.next += n;
  }
  private names: string[] | null = null;

  async read(): Promise<SourceSample[]> {
    const n = Math.min(this.o.batchSize, this.o.total - this.next);
    const metrics = this.o.metrics ?? 8;
    const cpus = this.o.cpus ?? 4;
    const out: SourceSample[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const k = this.next + i;
      out[i] = { metric: `loadgen_${k % metrics}`, value: k, cpu: k % cpus };
    }
    this.next += n;
    return out;
  }

  async shutdown(): Promise<void> {}
}
