/**
 * The collector's own telemetry, as samples of source `collector`: its CPU time over the interval
 * (so its overhead beside the workload is on record), the spool's size, batches dropped, and how long
 * the last batch took to reach the bus.
 */
import type { Source, SourceSample } from '../source.js';

export interface SelfFigures {
  spoolBatches?: number;
  spoolBytes?: number;
  /** Batches dropped so far (spool bound or queue bound), cumulative. */
  droppedBatches: number;
  /** Milliseconds from spool to acknowledged by the bus, last batch. */
  lastSendMs?: number;
}

export class SelfTelemetry implements Source {
  readonly name = 'collector';
  private last = process.cpuUsage();

  constructor(private readonly figures: () => SelfFigures) {}

  async start(): Promise<void> {
    this.last = process.cpuUsage();
  }

  async read(): Promise<SourceSample[]> {
    const now = process.cpuUsage();
    const cpu = (now.user - this.last.user + now.system - this.last.system) / 1e6;
    this.last = now;
    const f = this.figures();
    const out: SourceSample[] = [
      { metric: 'collector.cpu_seconds', value: cpu },
      { metric: 'collector.dropped_batches', value: f.droppedBatches },
    ];
    if (f.spoolBatches !== undefined) out.push({ metric: 'collector.spool_batches', value: f.spoolBatches });
    if (f.spoolBytes !== undefined) out.push({ metric: 'collector.spool_bytes', value: f.spoolBytes });
    if (f.lastSendMs !== undefined) out.push({ metric: 'collector.send_latency_ms', value: f.lastSendMs });
    return out;
  }

  async shutdown(): Promise<void> {}
}
