/**
 * The collector's own telemetry, as samples of source `collector`: its CPU time and context switches
 * (its wake-ups) over the interval, so its overhead beside the workload is on record in every run;
 * the spool's size, batches dropped, and how long the last batch took to reach the bus.
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
  private lastSwitches = switches();

  constructor(private readonly figures: () => SelfFigures) {}

  async start(): Promise<void> {
    this.last = process.cpuUsage();
    this.lastSwitches = switches();
  }

  async read(): Promise<SourceSample[]> {
    const now = process.cpuUsage();
    const cpu = (now.user - this.last.user + now.system - this.last.system) / 1e6;
    this.last = now;
    const sw = switches();
    const wakeups = sw - this.lastSwitches;
    this.lastSwitches = sw;
    const f = this.figures();
    const out: SourceSample[] = [
      { metric: 'collector.cpu_seconds', value: cpu },
      // Its context switches (voluntary + involuntary) over the interval: each wake-up to sample is one.
      { metric: 'collector.context_switches', value: wakeups },
      { metric: 'collector.dropped_batches', value: f.droppedBatches },
    ];
    if (f.spoolBatches !== undefined) out.push({ metric: 'collector.spool_batches', value: f.spoolBatches });
    if (f.spoolBytes !== undefined) out.push({ metric: 'collector.spool_bytes', value: f.spoolBytes });
    if (f.lastSendMs !== undefined) out.push({ metric: 'collector.send_latency_ms', value: f.lastSendMs });
    return out;
  }

  async shutdown(): Promise<void> {}
}

function switches(): number {
  const u = process.resourceUsage();
  return u.voluntaryContextSwitches + u.involuntaryContextSwitches;
}
