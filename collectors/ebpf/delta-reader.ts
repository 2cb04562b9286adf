/**
 * The samples of one BPF map from the deltas the native code computed (collectors/sampler/
 * bpf-deltas.c: per key that moved since the last read, its index and delta, per-CPU values already
 * summed). The same samples, in the same order, as MetricReader gives for the same map reads
 * (counters: the delta per label set; histograms: cumulative `le` buckets, `+Inf`, `<name>_sum`),
 * but a key's labels are decoded once, when its index is first met, into a series whose metric name
 * and labels are kept as the batch's JSON text: a read costs a loop over the keys that moved and one
 * append per sample. A key whose decode looked something up and missed (a cgroup or disk not found
 * yet) is decoded again each time it moves, until it is found. Keys of cgroups that are gone are
 * forgotten (`forget`, gone-cgroups.ts) before the native state hands their indices out again, so an
 * index met after that is learned anew.
 */
import type { SampleBatch } from '../sample-batch.js';
import type { SourceSample } from '../source.js';
import { BPF_DELTA_BYTES } from '../sampler/native-sampler.js';
import type { Decoders } from './decoders.js';
import { decodeLabels, formatLe, toSample } from './metric-reader.js';
import { bucketBounds, type CounterConfig, type HistogramConfig, type LabelConfig } from './metrics-config.js';

/** One label set of the metric: its sample (without value), and what the current read added to it. */
interface Series {
  /** Its key in the series map: the labels as JSON. */
  id: string;
  sample: SourceSample;
  /** Histograms: the metric of the sum sample (`<name>_sum`, with the labels that are not columns). */
  sumMetric: string;
  /** Keys that map to it: it is dropped when the last is forgotten. */
  refs: number;
  /** The read that last touched it. */
  read: number;
  /** Counters: the delta of this read. */
  value: number;
  /** Histograms: this read's count per bucket bound, and the sum (when the sum key moved). */
  counts: Float64Array | null;
  sum: number;
  hasSum: boolean;
  /** The batch's JSON of the metric name, the `<name>_sum` name and the labels (with each `le`), made at first use. */
  metricJson: string | null;
  sumJson: string | null;
  labelsJson: string;
  leJson: string[] | null;
}

/** What a key index stands for: its series (null: a decoder dropped it), and for histograms its bucket. */
interface KeyInfo {
  series: Series | null;
  /** Position in the bucket bounds; bounds.length for the sum key; -1 for another bucket. */
  bucket: number;
  /** The key's bytes when a lookup of its decode missed (decoded again when it moves), else null. */
  retry: Buffer | null;
}

/** Where the key bytes of new indexes come from (the native state's `keys()`). */
export type KeySource = (from: number, out: Buffer) => number;

export class DeltaReader {
  /** By key index; a hole where a key was forgotten (its index may be handed out again). */
  private readonly keys: (KeyInfo | undefined)[] = [];
  private readonly series = new Map<string, Series>();
  private readonly touched: Series[] = [];
  private reads = 0;
  private keyBuf: Buffer;
  private readonly bounds: { key: number; le: number }[] = [];
  private readonly sumKey: number = Number.NaN;
  private readonly own: LabelConfig[];
  private readonly ownBytes: number;
  /** Label sets dropped by a decoder or that failed to decode, since start. */
  dropped = 0;

  constructor(
    private readonly metric: { kind: 'counter'; config: CounterConfig } | { kind: 'histogram'; config: HistogramConfig },
    private readonly decoders: Decoders,
    private readonly keySize: number,
    private readonly keySource: KeySource,
  ) {
    this.keyBuf = Buffer.alloc(keySize * 256);
    const labels = metric.config.labels;
    if (metric.kind === 'histogram') {
      this.bounds = bucketBounds(metric.config);
      this.sumKey = this.bounds[this.bounds.length - 1]!.key + 1;
      this.own = labels.slice(0, -1);
    } else this.own = labels;
    this.ownBytes = this.own.reduce((a, l) => a + l.size, 0);
  }

  get name(): string {
    return this.metric.config.name;
  }

  /** Appends the samples of one read's deltas (`data[start, start + length)`) to the batch. */
  readInto(batch: SampleBatch, data: Buffer, start: number, length: number): void {
    this.accumulate(data, start, length);
    const h = this.metric.kind === 'histogram' ? this.metric.config : null;
    for (const s of this.touched) {
      if (s.metricJson === null) {
        s.metricJson = batch.json(s.sample.metric);
        s.labelsJson = batch.encodeLabels(s.sample);
        if (h) {
          s.sumJson = batch.json(s.sumMetric);
          s.leJson = [...this.bounds.map((b) => formatLe(b.le)), '+Inf'].map((le) => batch.encodeLabels({ ...s.sample, le }));
        }
      }
      const cpu = s.sample.cpu ?? -1;
      if (h === null) {
        batch.addEncoded(s.metricJson, s.value, cpu, 1, s.labelsJson);
        continue;
      }
      let count = 0;
      const le = s.leJson!;
      for (let b = 0; b < this.bounds.length; b++) {
        count += s.counts![b]!;
        batch.addEncoded(s.metricJson, count, cpu, 1, le[b]!);
      }
      batch.addEncoded(s.metricJson, count, cpu, 1, le[this.bounds.length]!);
      if (s.hasSum) batch.addEncoded(s.sumJson!, s.sum * h.bucket_multiplier, cpu, 1, s.labelsJson);
    }
  }

  /** The samples of one read's deltas as objects (for wrappers that stamp fields on them). */
  read(data: Buffer, start: number, length: number): SourceSample[] {
    this.accumulate(data, start, length);
    const out: SourceSample[] = [];
    const h = this.metric.kind === 'histogram' ? this.metric.config : null;
    for (const s of this.touched) {
      if (h === null) {
        out.push({ ...s.sample, value: s.value });
        continue;
      }
      let count = 0;
      for (let b = 0; b < this.bounds.length; b++) {
        count += s.counts![b]!;
        out.push({ ...s.sample, value: count, le: formatLe(this.bounds[b]!.le) });
      }
      out.push({ ...s.sample, value: count, le: '+Inf' });
      if (s.hasSum) out.push({ ...s.sample, metric: s.sumMetric, value: s.sum * h.bucket_multiplier });
    }
    return out;
  }

  /** Adds each moved key's delta to its series; `touched` lists the series in the order first moved. */
  private accumulate(data: Buffer, start: number, length: number): void {
    const read = ++this.reads;
    this.touched.length = 0;
    const histogram = this.metric.kind === 'histogram';
    const n = this.bounds.length;
    for (let p = start, end = start + length; p + BPF_DELTA_BYTES <= end; p += BPF_DELTA_BYTES) {
      const index = data.readUInt32LE(p);
      // u64 as two halves: the one rounding of the sum equals Number() of the BigInt.
      const delta = data.readUInt32LE(p + 8) + data.readUInt32LE(p + 12) * 4294967296;
      let info = this.keys[index];
      if (info === undefined) info = this.learn(index);
      else if (info.retry !== null) {
        this.unref(info);
        info = this.keys[index] = this.decodeKey(info.retry);
      }
      const s = info.series;
      if (s === null) continue;
      if (s.read !== read) {
        s.read = read;
        s.value = 0;
        s.sum = 0;
        s.hasSum = false;
        s.counts?.fill(0);
        this.touched.push(s);
      }
      if (!histogram) s.value += delta;
      else if (info.bucket >= 0 && info.bucket < n) s.counts![info.bucket]! += delta;
      else if (info.bucket === n) {
        s.sum += delta;
        s.hasSum = true;
      }
    }
  }

  /** Series of label sets held now (forgotten keys' sets left out). */
  get seriesCount(): number {
    return this.series.size;
  }

  /**
   * Forgets the keys at these indices (their cgroups are gone and the native state forgot them):
   * a series no other key maps to is dropped, and an index met again is learned anew.
   */
  forget(indices: Iterable<number>): void {
    for (const i of indices) {
      const info = this.keys[i];
      if (info === undefined) continue;
      this.unref(info);
      this.keys[i] = undefined;
    }
  }

  private unref(info: KeyInfo): void {
    const s = info.series;
    if (s !== null && --s.refs === 0) this.series.delete(s.id);
  }

  /**
   * Decodes the keys up to `index` (they are met in order of their index, but a read may skip some),
   * or the one key at a forgotten index handed out again.
   */
  private learn(index: number): KeyInfo {
    if (index < this.keys.length) {
      const one = this.keyBuf.subarray(0, this.keySize);
      if (this.keySource(index, one) !== 1) throw new Error(`BPF map ${this.name}: key ${index} is not known to the native state`);
      return (this.keys[index] = this.decodeKey(one));
    }
    while (this.keys.length <= index) {
      const got = this.keySource(this.keys.length, this.keyBuf);
      if (got <= 0) throw new Error(`BPF map ${this.name}: key ${index} is not known to the native state (it knows ${this.keys.length})`);
      for (let i = 0; i < got; i++) this.keys.push(this.decodeKey(this.keyBuf.subarray(i * this.keySize, (i + 1) * this.keySize)));
    }
    return this.keys[index]!;
  }

  private decodeKey(key: Buffer): KeyInfo {
    const misses = this.decoders.misses;
    const labels = this.labels(key);
    let bucket = -1;
    if (labels !== null && this.metric.kind === 'histogram') {
      const bucketLabel = this.metric.config.labels[this.metric.config.labels.length - 1]!;
      let text: string | null;
      try {
        text = this.decoders.decode(key.subarray(this.ownBytes, this.ownBytes + bucketLabel.size), bucketLabel.decoders);
      } catch {
        text = null;
      }
      if (text === null) return { series: null, bucket: -1, retry: this.decoders.misses !== misses ? Buffer.from(key) : null };
      const k = Number(text);
      bucket = k === this.sumKey ? this.bounds.length : this.bounds.findIndex((b) => b.key === k);
    }
    return { series: labels === null ? null : this.seriesOf(labels), bucket, retry: this.decoders.misses !== misses ? Buffer.from(key) : null };
  }

  private seriesOf(labels: [string, string][]): Series {
    const id = JSON.stringify(labels);
    let s = this.series.get(id);
    if (s === undefined) {
      const { value: _value, ...sample } = toSample(this.metric.config.name, labels, 0);
      s = {
        id,
        refs: 0,
        sample: sample as SourceSample,
        sumMetric: toSample(`${this.metric.config.name}_sum`, labels, 0).metric,
        read: 0, value: 0, sum: 0, hasSum: false,
        counts: this.metric.kind === 'histogram' ? new Float64Array(this.bounds.length) : null,
        metricJson: null, sumJson: null, labelsJson: '', leJson: null,
      };
      this.series.set(id, s);
    }
    s.refs++;
    return s;
  }

  /** Decoded labels of the key, or null (counted as dropped) when a decoder drops the set, as MetricReader's. */
  private labels(key: Buffer): [string, string][] | null {
    const out = decodeLabels(this.decoders, this.own, key);
    if (out === null) this.dropped++;
    return out;
  }
}
