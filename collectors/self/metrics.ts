/**
 * The collector's health for Prometheus (`isoscope collector --metrics-listen`, off by default):
 * batches and samples handed to the sink, batches dropped (spool bound, queue bound, or refused by
 * the bus for good), what the disk spool holds, the last send's latency, and keys dropped by full
 * eBPF maps. All are read at scrape
 * time from figures the collector keeps anyway (the same ones SelfTelemetry records as samples of
 * source `collector`), so an idle metrics server costs the node nothing between scrapes.
 */
import { Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge } from '../../core/scrape-metrics.js';
import type { CollectorStats } from '../agent.js';
import type { SelfFigures } from './self-telemetry.js';

export function collectorMetrics(collector: string, agent: () => CollectorStats | undefined, figures: () => SelfFigures): Registry {
  const registry = new Registry();
  const labels = { collector };
  scrapedCounter(registry, 'isoscope_collector_batches_total', 'Samples batches handed to the sink.', () => agent()?.batches ?? 0, labels);
  scrapedCounter(registry, 'isoscope_collector_samples_total', 'Samples handed to the sink.', () => agent()?.samples ?? 0, labels);
  scrapedCounter(registry, 'isoscope_collector_dropped_batches_total', 'Batches dropped: the oldest past the spool bound (collector.spoolMaxBytes), past the in-memory queue bound, or refused by the bus for good. Each is also logged with its seq.', () => figures().droppedBatches, labels);
  scrapedGauge(registry, 'isoscope_collector_spool_batches', 'Batches waiting in the disk spool for the bus.', () => figures().spoolBatches, labels);
  scrapedGauge(registry, 'isoscope_collector_spool_bytes', 'Bytes in the disk spool.', () => figures().spoolBytes, labels);
  scrapedGauge(registry, 'isoscope_collector_send_latency_seconds', 'Time from spool to acknowledged by the bus, last batch.', () => {
    const ms = figures().lastSendMs;
    return ms === undefined ? undefined : ms / 1000;
  }, labels);
  scrapedCounter(registry, 'isoscope_collector_ebpf_dropped_keys_total', 'Keys the eBPF programs could not add because a map was full (their counts are missing); 0 without eBPF.', () => figures().ebpfDroppedKeys?.full ?? 0, labels);
  scrapedCounter(registry, 'isoscope_collector_ebpf_failed_keys_total', 'Keys the eBPF programs could not add to a map that was not full (EBUSY, ENOMEM; their counts are missing); 0 without eBPF.', () => figures().ebpfDroppedKeys?.failed ?? 0, labels);
  scrapedGauge(registry, 'isoscope_collector_last_seq', 'Sequence number of the last samples batch sent (ingest reports gaps in it as seq_gap events).', () => agent()?.lastSeq ?? undefined, labels);
  return registry;
}
