/**
 * Ingest's own Prometheus metrics, in a registry per Ingest (several can live in one process, as in
 * tests). `ingest/metrics-server.ts` serves them on `/metrics`. Names follow Prometheus conventions:
 * `_total` counters, `_seconds` durations.
 */
import type { PartitionLag } from '../bus/bus.js';
import { RECORD_NAMES } from '../schema/records.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class IngestMetrics {
  readonly registry = new Registry();
  /** Rows written to the store, per record type (rows/s is `rate()` of it). */
  readonly rows = new Counter({ name: 'isoscope_ingest_rows_total', help: 'Rows written to the store, per topic (record type).', labelNames: ['topic'] as const, registers: [this.registry] });
  readonly messages = new Counter({ name: 'isoscope_ingest_messages_total', help: 'Bus messages handled, per topic.', labelNames: ['topic'] as const, registers: [this.registry] });
  readonly writeSeconds = new Histogram({
    name: 'isoscope_ingest_batch_write_seconds',
    help: 'Time to write one batch durably to the store, retries included, per topic.',
    labelNames: ['topic'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly watermarkSeconds = new Histogram({
    name: 'isoscope_ingest_watermark_wait_seconds',
    help: 'Time a samples batch was held for late run/partition records before its write.',
    buckets: [0, 0.1, 0.5, 1, 2, 3, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({ name: 'isoscope_ingest_dead_letters_total', help: 'Messages sent to the dead-letter topic, per source topic.', labelNames: ['topic'] as const, registers: [this.registry] });
  readonly retries = new Counter({ name: 'isoscope_ingest_write_retries_total', help: 'Store writes retried after a retriable failure, per topic.', labelNames: ['topic'] as const, registers: [this.registry] });
  readonly unmatched = new Counter({ name: 'isoscope_ingest_unmatched_samples_total', help: 'Samples that matched no run while runs were active: their node is named by no run (a collector stamping another node name), per node.', labelNames: ['node'] as const, registers: [this.registry] });
  readonly seqGaps = new Counter({ name: 'isoscope_ingest_seq_gaps_total', help: 'Gaps found in collector batch sequences, per topic.', labelNames: ['topic'] as const, registers: [this.registry] });
  readonly seqMissing = new Counter({ name: 'isoscope_ingest_seq_missing_batches_total', help: 'Collector batches missing according to the sequence gaps, per topic.', labelNames: ['topic'] as const, registers: [this.registry] });
  readonly committedOffset = new Gauge({ name: 'isoscope_ingest_committed_offset', help: 'Next offset this instance commits, per topic partition.', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  readonly partitionLagSeconds = new Gauge({
    name: 'isoscope_ingest_partition_lag_seconds',
    help: 'Age of the newest message handled, per topic partition: now minus its bus timestamp at the time it was written.',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });
  private readonly lagMessages: Gauge;

  /** @param lag reads the group's lag in messages per topic partition at scrape time. */
  constructor(lag: () => Promise<PartitionLag[]>) {
    // Known label values start at 0, so "no dead letters yet" is a 0 a dashboard can rate(), not a
    // missing series.
    for (const topic of RECORD_NAMES) {
      this.deadLetters.labels(topic).inc(0);
      this.retries.labels(topic).inc(0);
    }
    this.lagMessages = new Gauge({
      name: 'isoscope_ingest_lag_messages',
      help: 'Messages not yet committed by the ingest group, per topic partition (sum() for the group total).',
      labelNames: ['topic', 'partition'] as const,
      registers: [this.registry],
      collect: async () => {
        try {
          const lags = await lag();
          this.lagMessages.reset();
          for (const l of lags) this.lagMessages.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
        } catch {
          // Not started or the bus is away: the series go missing for this scrape (absent = unknown);
          // the scrape itself never fails.
          this.lagMessages.reset();
        }
      },
    });
  }

  /** Records a handled batch of one topic partition. */
  batchDone(topic: string, partition: number, nextOffset: string, newestTimestampMs: number, messageCount: number, rowCount: number): void {
    const labels = { topic, partition: String(partition) };
    this.committedOffset.set(labels, Number(nextOffset));
    this.partitionLagSeconds.set(labels, Math.max(0, (Date.now() - newestTimestampMs) / 1000));
    this.messages.inc({ topic }, messageCount);
    this.rows.inc({ topic }, rowCount);
  }
}
