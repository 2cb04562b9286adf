import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Decoders } from './decoders.js';
import { MetricReader } from './metric-reader.js';
import { bucketBounds, parseMetricsConfig } from './metrics-config.js';

const fixture = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;
const parseFixture = (name: string) => parseMetricsConfig(readFileSync(fixture(name), 'utf8'), name);
const decoders = () => new Decoders({ kallsyms: fixture('kallsyms'), partitions: fixture('partitions'), cgroupRoot: null });

describe('ebpf_exporter metrics config', () => {
  it('parses a full config with every decoder', () => {
    const c = parseFixture('full.yaml');
    expect(c.metrics.histograms[0]!.bucket_multiplier).toBe(0.000001);
    expect(c.metrics.counters[0]!.labels.map((l) => l.name)).toEqual(['device', 'operation', 'irq', 'comm']);
    expect(c.metrics.counters[0]!.labels[1]!.decoders[1]!.static_map).toEqual({ 0: 'read', 1: 'write' });
    expect(bucketBounds(c.metrics.histograms[0]!)).toHaveLength(27);
  });

  it('fills defaults in a partial config (no labels)', () => {
    const c = parseFixture('partial.yaml');
    expect(c.metrics.counters[0]!.labels).toEqual([]);
    expect(c.metrics.histograms).toEqual([]);
  });

  it('rejects an invalid config naming every problem', () => {
    expect(() => parseFixture('invalid.yaml')).toThrow(/invalid\.yaml is not a valid ebpf_exporter metrics config: .*decoders\.0\.name.*colour.*bucket_min < bucket_max/s);
    expect(() => parseMetricsConfig('metrics: [', 'x.yaml')).toThrow('x.yaml is not valid YAML');
    expect(() => parseMetricsConfig('metrics: {}', 'x.yaml')).toThrow('no counters and no histograms');
  });
});

describe('decoders', () => {
  const key = Buffer.alloc(24);
  key.writeUInt32LE((254 << 20) | 1, 0);
  key.writeUInt32LE(1, 4);
  key.writeBigUInt64LE(0xffffffff815ec910n, 8);
  key.write('kworker\0', 16);

  it('decode uint, static_map, ksym, majorminor, string and regexp', () => {
    const c = parseFixture('full.yaml').metrics.counters[0]!;
    const d = decoders();
    const [device, op, irq, comm] = c.labels;
    expect(d.decode(key.subarray(0, 4), device!.decoders)).toBe('vda1');
    expect(d.decode(key.subarray(4, 8), op!.decoders)).toBe('write');
    expect(d.decode(key.subarray(8, 16), irq!.decoders)).toBe('handle_mm_fault');
    expect(d.decode(key.subarray(16, 24), comm!.decoders)).toBe('kworker');
    expect(d.decode(Buffer.from('bash\0\0\0\0'), comm!.decoders)).toBeNull();
    expect(d.decode(Buffer.from([7, 0, 0, 0]), op!.decoders)).toBe('unknown:7');
    expect(d.decode(Buffer.from([7, 0, 0, 0]), [{ name: 'majorminor' }])).toBe('unknown:0:7');
    expect(d.decode(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]), [{ name: 'uint' }, { name: 'cgroup' }])).toBe('unknown_cgroup_id:9');
  });

  it('turn counters into deltas with labels in sample columns and histograms into cumulative le buckets', () => {
    const c = parseFixture('full.yaml');
    const counter = new MetricReader({ kind: 'counter', config: c.metrics.counters[0]! }, decoders());
    expect(counter.read([{ key, value: 10n }])).toEqual([]);
    expect(counter.read([{ key, value: 25n }])).toEqual([{ metric: 'bio_ops_total{operation="write"}', value: 15, device: 'vda1', irq: 'handle_mm_fault', comm: 'kworker' }]);
    const hist = new MetricReader({ kind: 'histogram', config: c.metrics.histograms[0]! }, decoders());
    const hk = (cgroup: number, bucket: number) => Buffer.from(new BigUint64Array([BigInt(cgroup), BigInt(bucket)]).buffer);
    hist.read([{ key: hk(9, 0), value: 1n }]);
    const out = hist.read([{ key: hk(9, 0), value: 3n }, { key: hk(9, 2), value: 5n }, { key: hk(9, 27), value: 40n }]);
    const buckets = out.filter((s) => s.le !== undefined);
    expect(buckets).toHaveLength(28);
    expect(buckets.slice(0, 4).map((s) => [s.le, s.value])).toEqual([['0.000001', 2], ['0.000002', 2], ['0.000004', 7], ['0.000008', 7]]);
    expect(buckets[27]).toEqual({ metric: 'run_queue_latency_seconds', value: 7, cgroup: 'unknown_cgroup_id:9', le: '+Inf' });
    expect(out.find((s) => s.metric === 'run_queue_latency_seconds_sum')!.value).toBeCloseTo(0.00004);
  });
});
