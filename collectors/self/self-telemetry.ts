/**
 * The collector's own telemetry, as samples of source `collector`: its CPU time and context switches
 * (its wake-ups) over the interval, so its overhead beside the workload is on record in every run;
 * the spool's size, batches dropped, how long the last batch took to reach the bus, and the keys
 * the eBPF programs could not add to a map (`ebpf_dropped_keys`: the map was full; `ebpf_failed_keys`:
 * another failure, EBUSY or ENOMEM).
 * Under the native sampler (which reads nothing of it) the CPU time and context switches of the
 * process, its sampler thread included, are taken at each drain and shared out over the drained
 * ticks by their length: each tick's value is the drain's mean, and the sum over a run is exact.
 */
import { nowNs } from '../../core/clock.js';
import type { SampleBatch } from '../sample-batch.js';
import type { SampledTick, SamplerSlot } from '../sampler/native-sampler.js';
import type { Source, SourceSample } from '../source.js';

export interface SelfFigures {
  spoolBatches?: number;
  spoolBytes?: number;
  /** Batches dropped so far (spool bound or queue bound), cumulative. */
  droppedBatches: number;
  /** Milliseconds from spool to acknowledged by the bus, last batch. */
  lastSendMs?: number;
  /** Keys the eBPF programs could not add to a map since they were loaded (cumulative): the map was full, or another failure. */
  ebpfDroppedKeys?: { full: number; failed: number };
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
    if (f.ebpfDroppedKeys !== undefined) out.push({ metric: 'collector.ebpf_dropped_keys', value: f.ebpfDroppedKeys.full }, { metric: 'collector.ebpf_failed_keys', value: f.ebpfDroppedKeys.failed });
    return out;
  }

  /** Per-ns rates over the ticks being drained, and the time the previous tick was read. */
  private cpuPerNs = 0;
  private switchesPerNs = 0;
  private lastTickTs: bigint | null = null;

  sampledSlots(): { slots: SamplerSlot[] } {
    this.lastTickTs = nowNs();
    this.last = process.cpuUsage();
    this.lastSwitches = switches();
    return { slots: [] };
  }

  beforeSampledTicks(lastTs: bigint): void {
    const now = process.cpuUsage();
    const sw = switches();
    const span = Number(lastTs - (this.lastTickTs ?? lastTs));
    this.cpuPerNs = span > 0 ? (now.user - this.last.user + now.system - this.last.system) / 1e6 / span : 0;
    this.switchesPerNs = span > 0 ? (sw - this.lastSwitches) / span : 0;
    this.last = now;
    this.lastSwitches = sw;
  }

  readSampledInto(batch: SampleBatch, tick: SampledTick): void {
    const span = this.lastTickTs === null ? 0 : Math.max(0, Number(tick.ts - this.lastTickTs));
    this.lastTickTs = tick.ts;
    batch.add('collector.cpu_seconds', this.cpuPerNs * span);
    batch.add('collector.context_switches', this.switchesPerNs * span);
    const f = this.figures();
    batch.add('collector.dropped_batches', f.droppedBatches);
    if (f.spoolBatches !== undefined) batch.add('collector.spool_batches', f.spoolBatches);
    if (f.spoolBytes !== undefined) batch.add('collector.spool_bytes', f.spoolBytes);
    if (f.lastSendMs !== undefined) batch.add('collector.send_latency_ms', f.lastSendMs);
    if (f.ebpfDroppedKeys !== undefined) {
      batch.add('collector.ebpf_dropped_keys', f.ebpfDroppedKeys.full);
      batch.add('collector.ebpf_failed_keys', f.ebpfDroppedKeys.failed);
    }
  }

  async shutdown(): Promise<void> {}
}

function switches(): number {
  const u = process.resourceUsage();
  return u.voluntaryContextSwitches + u.involuntaryContextSwitches;
}
