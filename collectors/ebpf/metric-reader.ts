/**
 * Turns the entries of one BPF map into samples, as ebpf_exporter would: counters become the delta
 * over the interval per label set; histograms become cumulative `le` buckets of the interval's
 * observations (`+Inf` last) plus `<name>_sum` when the map holds ebpf_exporter's sum key
 * (bucket_max + 1). Labels named like a sample column (cpu, cgroup, comm, irq, device) fill it; any
 * other label is appended to the metric name, `name{label="value"}`. Pure apart from the decoders.
 */
import type { SourceSample } from '../source.js';
import type { Decoders } from './decoders.js';
import { bucketBounds, type CounterConfig, type HistogramConfig, type LabelConfig } from './metrics-config.js';

/** One map entry: its key bytes and its value (summed over CPUs for per-CPU maps). */
export interface MapEntry {
  key: Buffer;
  value: bigint;
}

const COLUMNS = new Set(['cpu', 'cgroup', 'comm', 'irq', 'device']);

/** Bytes of key the labels describe. */
export function labelBytes(labels: LabelConfig[]): number {
  return labels.reduce((a, l) => a + l.size, 0);
}

/** Reads one counter or histogram map, interval after interval. */
export class MetricReader {
  private previous: Map<string, bigint> | null = null;
  /** Label sets dropped by a decoder or that failed to decode, since start. */
  dropped = 0;

  constructor(
    private readonly metric: { kind: 'counter'; config: CounterConfig } | { kind: 'histogram'; config: HistogramConfig },
    private readonly decoders: Decoders,
  ) {}

  get name(): string {
    return this.metric.config.name;
  }

  /** Samples for the interval since the last call; none on the first call (it takes the baseline). */
  read(entries: MapEntry[]): SourceSample[] {
    const current = new Map<string, bigint>();
    const deltas: { key: Buffer; delta: bigint }[] = [];
    for (const e of entries) {
      const id = e.key.toString('hex');
      current.set(id, e.value);
      if (this.previous === null) continue;
      const before = this.previous.get(id) ?? 0n;
      const delta = e.value >= before ? e.value - before : e.value; // smaller: the entry was recreated
      if (delta !== 0n) deltas.push({ key: e.key, delta });
    }
    const first = this.previous === null;
    this.previous = current;
    if (first) return [];
    return this.metric.kind === 'counter' ? this.counters(this.metric.config, deltas) : this.histograms(this.metric.config, deltas);
  }

  private counters(c: CounterConfig, deltas: { key: Buffer; delta: bigint }[]): SourceSample[] {
    const sums = new Map<string, { labels: [string, string][]; value: bigint }>();
    for (const d of deltas) {
      const labels = this.labels(c.labels, d.key);
      if (labels === null) continue;
      const id = JSON.stringify(labels);
      const s = sums.get(id) ?? { labels, value: 0n };
      s.value += d.delta;
      sums.set(id, s);
    }
    return [...sums.values()].map((s) => toSample(c.name, s.labels, Number(s.value)));
  }

  private histograms(h: HistogramConfig, deltas: { key: Buffer; delta: bigint }[]): SourceSample[] {
    const bounds = bucketBounds(h);
    const sumKey = bounds[bounds.length - 1]!.key + 1;
    const sets = new Map<string, { labels: [string, string][]; buckets: Map<number, bigint> }>();
    const own = h.labels.slice(0, -1);
    const bucketLabel = h.labels[h.labels.length - 1]!;
    for (const d of deltas) {
      const labels = this.labels(own, d.key);
      const bucketText = this.decoders.decode(d.key.subarray(labelBytes(own), labelBytes(h.labels)), bucketLabel.decoders);
      if (labels === null || bucketText === null) continue;
      const id = JSON.stringify(labels);
      const s = sets.get(id) ?? { labels, buckets: new Map() };
      const bucket = Number(bucketText);
      s.buckets.set(bucket, (s.buckets.get(bucket) ?? 0n) + d.delta);
      sets.set(id, s);
    }
    const out: SourceSample[] = [];
    for (const s of sets.values()) {
      let count = 0n;
      for (const b of bounds) {
        count += s.buckets.get(b.key) ?? 0n;
        out.push({ ...toSample(h.name, s.labels, Number(count)), le: formatLe(b.le) });
      }
      out.push({ ...toSample(h.name, s.labels, Number(count)), le: '+Inf' });
      const sum = s.buckets.get(sumKey);
      if (sum !== undefined) out.push(toSample(`${h.name}_sum`, s.labels, Number(sum) * h.bucket_multiplier));
    }
    return out;
  }

  /** Decoded labels of a key, or null (counted as dropped) when a decoder drops the set or fails. */
  private labels(labels: LabelConfig[], key: Buffer): [string, string][] | null {
    const out = decodeLabels(this.decoders, labels, key);
    if (out === null) this.dropped++;
    return out;
  }
}

/**
 * Decoded [name, value] pairs of a map key's labels, in the order configured, or null when a decoder
 * drops the set (returns null) or cannot read its bytes (throws). Shared by MetricReader and the
 * delta reader so both drop the same keys.
 */
export function decodeLabels(decoders: Decoders, labels: readonly LabelConfig[], key: Buffer): [string, string][] | null {
  const out: [string, string][] = [];
  let at = 0;
  try {
    for (const l of labels) {
      const v = decoders.decode(key.subarray(at, at + l.size), l.decoders);
      at += l.size;
      if (v === null) return null;
      out.push([l.name, v]);
    }
  } catch {
    return null;
  }
  return out;
}

/** A sample of the metric with these decoded labels: column labels in their columns, others in the name. */
export function toSample(metric: string, labels: [string, string][], value: number): SourceSample {
  const sample: SourceSample = { metric, value };
  const extra: string[] = [];
  for (const [name, v] of labels) {
    if (name === 'cpu' && /^\d+$/.test(v)) sample.cpu = Number(v);
    else if (COLUMNS.has(name) && name !== 'cpu') (sample as Record<string, unknown>)[name] = v;
    else extra.push(`${name}=${JSON.stringify(v)}`);
  }
  if (extra.length > 0) sample.metric = `${metric}{${extra.join(',')}}`;
  return sample;
}

/** A bucket bound as Prometheus would print it: shortest decimal, without float noise. */
export function formatLe(le: number): string {
  return String(Number(le.toPrecision(12)));
}
