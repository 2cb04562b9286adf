/**
 * The eBPF maps' native differencing (collectors/sampler/bpf-deltas.c) with its decoder
 * (delta-reader.ts) gives the samples the JS path (MetricReader on the map's entries) gives for the
 * same map reads: fed the same bytes, read after read, as sample objects and as the encoded batch.
 * Once on entries made here for the edge cases (keys new, gone and back, recreated smaller, zero
 * deltas, dropped by a decoder, per-CPU values, values beyond 2^32, buckets outside the bounds, a
 * label that is not a column), once on dumps of the shipped programs' maps on this kernel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../schema/codec.js';
import { SampleBatch } from '../sample-batch.js';
import { loadSampler, type NativeBpfMap, type SamplerLibrary } from '../sampler/native-sampler.js';
import type { SourceSample } from '../source.js';
import { Decoders, findCgroup2Root } from './decoders.js';
import { DeltaReader } from './delta-reader.js';
import { bpfCapability } from './kernel-gate.js';
import { defaultConfigDir, defaultObjectDir } from './locate.js';
import { MetricReader, type MapEntry } from './metric-reader.js';
import { parseMetricsConfig, type MetricsConfig } from './metrics-config.js';
import type { BpfMapInfo, BpfNative } from './native.js';

const fixture = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;
const testDecoders = () => new Decoders({ kallsyms: fixture('kallsyms'), partitions: fixture('partitions'), cgroupRoot: null });
type Metric = ConstructorParameters<typeof MetricReader>[0];

let lib: SamplerLibrary | null = null;
let why = '';
beforeAll(async () => {
  const r = await loadSampler();
  if (r.ok) lib = r.lib;
  else why = r.reason;
});

/** Both readers of one metric, fed the same reads. */
class Pair {
  readonly js: MetricReader;
  readonly native: NativeBpfMap;
  readonly deltas: DeltaReader;
  private readonly out = Buffer.alloc(1 << 20);
  constructor(readonly metric: Metric, private readonly keySize: number, private readonly cpus: number, decoders: () => Decoders) {
    this.js = new MetricReader(metric, decoders());
    this.native = lib!.bpfMap(-1, keySize, 8, cpus, 4096);
    this.deltas = new DeltaReader(metric, decoders(), keySize, (from, out) => this.native.keys(from, out));
  }

  /** One read of n entries (keys packed, then per-CPU u64 values): the JS samples, and the native ones as objects and encoded. */
  feed(keys: Buffer, values: Buffer, n: number): { js: SourceSample[]; objects: SourceSample[]; jsBatch: unknown; nativeBatch: unknown } {
    const entries: MapEntry[] = [];
    for (let i = 0; i < n; i++) {
      let v = 0n;
      for (let c = 0; c < this.cpus; c++) v += values.readBigUInt64LE((i * this.cpus + c) * 8);
      entries.push({ key: Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)), value: v });
    }
    const first = this.fed++ === 0; // the first read is the baseline, on both paths
    const bytes = this.native.feed(keys, values, n, first ? Buffer.alloc(0) : this.out);
    expect(bytes).toBeGreaterThanOrEqual(0);
    const js = this.js.read(entries);
    const objects = first ? [] : this.deltas.read(this.out, 0, bytes);
    const jsBatch = new SampleBatch('n', 'c');
    const nativeBatch = new SampleBatch('n', 'c');
    jsBatch.begin(1n, 0);
    nativeBatch.begin(1n, 0);
    for (const s of js) jsBatch.addFields(s);
    if (!first) this.deltas.readInto(nativeBatch, this.out, 0, bytes);
    return { js, objects, jsBatch: decode(jsBatch.finish(), 'samples').records, nativeBatch: decode(nativeBatch.finish(), 'samples').records };
  }
  private fed = 0;
}

/** Packs entries as a batch lookup returns them: keys, then each key's per-CPU u64 values. */
function pack(keySize: number, cpus: number, entries: { key: Buffer; values: bigint[] }[]): [Buffer, Buffer, number] {
  const keys = Buffer.alloc(Math.max(1, entries.length * keySize));
  const values = Buffer.alloc(Math.max(8, entries.length * cpus * 8));
  entries.forEach((e, i) => {
    e.key.copy(keys, i * keySize);
    e.values.forEach((v, c) => values.writeBigUInt64LE(v, (i * cpus + c) * 8));
  });
  return [keys, values, entries.length];
}

describe('eBPF map deltas in native code', () => {
  it('give the samples of the JS path on the same reads: keys new, gone and back, recreated smaller, dropped, per-CPU, beyond 2^32', (ctx) => {
    if (!lib) return ctx.skip(`the native sampler library is not available here: ${why}`);
    const config = parseMetricsConfig(readFileSync(fixture('full.yaml'), 'utf8'), 'full.yaml');
    // bio_ops_total: device (majorminor) / operation (static_map) / irq (ksym) / comm (string + regexp ^kworker)
    const counterKey = (op: number, comm: string) => {
      const k = Buffer.alloc(24);
      k.writeUInt32LE((254 << 20) | 1, 0);
      k.writeUInt32LE(op, 4);
      k.writeBigUInt64LE(0xffffffff815ec910n, 8);
      k.write(`${comm}\0`, 16);
      return k;
    };
    const cpus = 3;
    const counter = new Pair({ kind: 'counter', config: config.metrics.counters[0]! }, 24, cpus, testDecoders);
    const a = counterKey(1, 'kworker');
    const b = counterKey(0, 'kworker2');
    const dropped = counterKey(1, 'bash');
    const unknownOp = counterKey(7, 'kworker');
    const reads: { key: Buffer; values: bigint[] }[][] = [
      [{ key: a, values: [1n, 2n, 3n] }, { key: dropped, values: [5n, 0n, 0n] }],
      [{ key: a, values: [4n, 2n, 3n] }, { key: b, values: [7n, 0n, 1n] }, { key: dropped, values: [9n, 0n, 0n] }, { key: unknownOp, values: [0n, 0n, 0n] }],
      [{ key: a, values: [1n, 0n, 0n] }, { key: unknownOp, values: [0n, 0n, 2n] }], // a recreated smaller, b gone
      [{ key: a, values: [1n, 0n, 0n] }, { key: b, values: [3n, 0n, 0n] }, { key: unknownOp, values: [6n * 2n ** 32n + 5n, 2n ** 40n, 2n] }], // a still, b back
      [],
    ];
    const seen: SourceSample[][] = [];
    for (const r of reads) {
      const got = counter.feed(...pack(24, cpus, r));
      expect(got.objects).toEqual(got.js);
      expect(got.nativeBatch).toEqual(got.jsBatch);
      seen.push(got.js);
    }
    // The JS path's answers, spelled out: the reads above do cover what they say.
    expect(seen[1]).toEqual([
      { metric: 'bio_ops_total{operation="write"}', value: 3, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker' },
      { metric: 'bio_ops_total{operation="read"}', value: 8, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker2' },
    ]);
    expect(seen[2]).toEqual([
      { metric: 'bio_ops_total{operation="write"}', value: 1, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker' },
      { metric: 'bio_ops_total{operation="unknown:7"}', value: 2, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker' },
    ]);
    expect(seen[3]).toEqual([
      { metric: 'bio_ops_total{operation="read"}', value: 3, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker2' },
      { metric: 'bio_ops_total{operation="unknown:7"}', value: 6 * 2 ** 32 + 5 + 2 ** 40, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker' },
    ]);
    expect(seen[4]).toEqual([]);

    // A histogram with a label that is not a column (so the sum's name carries it), per cgroup.
    const hist = parseMetricsConfig(
      `metrics:
  histograms:
    - name: lat_seconds
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 4
      bucket_multiplier: 0.001
      labels:
        - { name: cgroup, size: 8, decoders: [{ name: uint }, { name: cgroup }] }
        - { name: op, size: 4, decoders: [{ name: uint }, { name: static_map, static_map: { 0: read, 1: write } }] }
        - { name: bucket, size: 4, decoders: [{ name: uint }] }
`,
      'inline.yaml',
    ) as MetricsConfig;
    const h = new Pair({ kind: 'histogram', config: hist.metrics.histograms[0]! }, 16, 1, testDecoders);
    const hk = (cgroup: number, op: number, bucket: number) => {
      const k = Buffer.alloc(16);
      k.writeBigUInt64LE(BigInt(cgroup), 0);
      k.writeUInt32LE(op, 8);
      k.writeUInt32LE(bucket, 12);
      return k;
    };
    const hreads: { key: Buffer; values: bigint[] }[][] = [
      [{ key: hk(9, 0, 0), values: [1n] }],
      [{ key: hk(9, 0, 0), values: [3n] }, { key: hk(9, 0, 2), values: [5n] }, { key: hk(9, 0, 5), values: [40n] }, { key: hk(11, 1, 9), values: [2n] }],
      [{ key: hk(9, 0, 0), values: [3n] }, { key: hk(9, 0, 2), values: [5n] }, { key: hk(9, 0, 5), values: [40n] }, { key: hk(11, 1, 9), values: [2n] }, { key: hk(11, 1, 4), values: [1n] }],
      [{ key: hk(9, 0, 0), values: [4n] }, { key: hk(9, 0, 2), values: [5n] }, { key: hk(9, 0, 5), values: [47n] }, { key: hk(11, 1, 9), values: [3n] }, { key: hk(11, 1, 4), values: [1n] }],
    ];
    const hseen: SourceSample[][] = [];
    for (const r of hreads) {
      const got = h.feed(...pack(16, 1, r));
      expect(got.objects).toEqual(got.js);
      expect(got.nativeBatch).toEqual(got.jsBatch);
      hseen.push(got.js);
    }
    // cgroup 11 only moved outside the bounds in read 1: its series is there, all zero; read 2: bucket 4 only.
    expect(hseen[1]!.filter((s) => s.cgroup === 'unknown_cgroup_id:11').map((s) => s.value)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(hseen[2]!.map((s) => [s.metric, s.value, s.le])).toEqual([
      ...['0.001', '0.002', '0.004', '0.008'].map((le) => ['lat_seconds{op="write"}', 0, le]),
      ['lat_seconds{op="write"}', 1, '0.016'],
      ['lat_seconds{op="write"}', 1, '+Inf'],
    ]);
    expect(hseen[3]!.find((s) => s.metric === 'lat_seconds_sum{op="read"}')!.value).toBeCloseTo(0.007);
  });

  it('give the samples of the JS path on dumps of the shipped programs’ maps (runqlat, sched_switch) on this kernel', async (ctx) => {
    if (!lib) return ctx.skip(`the native sampler library is not available here: ${why}`);
    const capability = bpfCapability();
    if (!capability.ok) return ctx.skip(`no BPF here: ${capability.why}`);
    const native = capability.native;
    let cgroupRoot: string | null = null;
    try {
      cgroupRoot = findCgroup2Root('/proc/self/mountinfo');
    } catch {
      // none: cgroups decode as unknown on both paths alike
    }
    const decoders = () => new Decoders({ kallsyms: '/proc/kallsyms', partitions: '/proc/partitions', cgroupRoot });
    const objects = ['runqlat', 'sched_switch'].map((p) => ({ p, obj: native.openObject(join(defaultObjectDir(), `${p}.bpf.o`)) }));
    let pairs: { map: BpfMapInfo; cpus: number; pair: Pair }[] = [];
    try {
      pairs = objects.flatMap(({ p, obj }) => {
        const config = parseMetricsConfig(readFileSync(join(defaultConfigDir(), `${p}.yaml`), 'utf8'), p);
        const metrics: Metric[] = [...config.metrics.counters.map((c) => ({ kind: 'counter' as const, config: c })), ...config.metrics.histograms.map((c) => ({ kind: 'histogram' as const, config: c }))];
        return metrics.map((metric) => {
          const map = obj.maps.find((m) => m.name === metric.config.name)!;
          const cpus = [5, 6, 10].includes(map.type) ? native.possibleCpus() : 1;
          return { map, cpus, pair: new Pair(metric, map.keySize, cpus, decoders) };
        });
      });
      let samples = 0;
      for (let read = 0; read < 6; read++) {
        await sleep(150);
        for (const { map, cpus, pair } of pairs) {
          const got = pair.feed(...dump(native, map, cpus));
          expect(got.objects).toEqual(got.js);
          expect(got.nativeBatch).toEqual(got.jsBatch);
          samples += got.js.length;
        }
      }
      // The machine switched tasks meanwhile: there was something to compare.
      expect(samples).toBeGreaterThan(0);
    } finally {
      for (const { obj } of objects) obj.close();
      for (const { pair } of pairs) pair.native.free();
    }
  });
});

/** Every entry of a map with BPF_MAP_LOOKUP_BATCH, as the kernel packs them: keys, then per-CPU values. */
function dump(native: BpfNative, map: BpfMapInfo, cpus: number): [Buffer, Buffer, number] {
  const keys = Buffer.alloc(map.maxEntries * map.keySize);
  const values = Buffer.alloc(map.maxEntries * cpus * 8);
  const inBatch = Buffer.alloc(Math.max(8, map.keySize));
  const outBatch = Buffer.alloc(Math.max(8, map.keySize));
  let n = 0;
  for (let first = true; ; first = false) {
    const r = native.lookupBatch(map.fd, first ? null : inBatch, outBatch, keys.subarray(n * map.keySize), values.subarray(n * cpus * 8), map.maxEntries - n);
    if (r === null) throw new Error(`no batch lookup for ${map.name}`);
    n += r.count;
    if (r.done) return [keys, values, n];
    outBatch.copy(inBatch);
  }
}
