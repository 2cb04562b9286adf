/**
 * The batch encoder writes a version-2 message that `decode()`, the ingest side's validation, reads to
 * the records (and the per-record errors) of the version-1 message `encodeV1()` writes for the same
 * records; a label left out comes back null instead of absent (both are stored as NULL).
 */
import { describe, expect, it } from 'vitest';
import { decode, encodeV1 } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import { SampleBatch } from './sample-batch.js';

const ts = 1_764_000_000_123_456_789n;
const identity = { node: 'n"1', collector: 'n1/perf+procfs', seq: 42 };

describe('SampleBatch', () => {
  /** Records with every label column present (null when not set): v2 does not tell null from absent. */
  const withNullLabels = (records: object[]) => records.map((r) => ({ cgroup: null, comm: null, irq: null, device: null, le: null, partition: null, run: null, ...r }));

  it('stamps partition and run on the samples added since a mark, the others staying null', () => {
    const b = new SampleBatch(identity.node, identity.collector);
    b.begin(ts, identity.seq);
    b.source('perf');
    b.add('task-clock', 1, 0);
    const from = b.count;
    b.add('task-clock', 2, 0);
    b.add('task-clock', 3, 1);
    b.stampPartition(from, 'app', null);
    b.add('task-clock', 4, 1);
    b.stampPartition(b.count - 1, 'noise', 'r"1');
    const got = decode(b.finish(), 'samples');
    expect(got.errors).toEqual([]);
    expect(got.records.map((r) => [r.value, r.partition, r.run])).toEqual([[1, null, null], [2, 'app', null], [3, 'app', null], [4, 'noise', 'r"1']]);
  });

  it('stamps partition and run by cgroup label on the samples since a mark, keeping a partition already set', () => {
    const b = new SampleBatch(identity.node, identity.collector);
    b.begin(ts, identity.seq);
    b.source('ebpf');
    b.addFields({ metric: 'x', value: 0, cgroup: '/app', partition: 'before' }); // before the mark: untouched
    const from = b.count;
    b.addFields({ metric: 'x', value: 1, cgroup: '/app' });
    b.addFields({ metric: 'x', value: 2, cgroup: '/other "q"' });
    b.addFields({ metric: 'x', value: 3 });
    b.addFields({ metric: 'x', value: 4, cgroup: '/app', partition: 'set' });
    b.addFields({ metric: 'x', value: 5, cgroup: '/a"b' });
    b.stampPartitionByCgroup(from, new Map([[JSON.stringify('/app'), { partition: 'app', run: 'r1' }], [JSON.stringify('/a"b'), { partition: 'q', run: null }]]));
    const got = decode(b.finish(), 'samples');
    expect(got.errors).toEqual([]);
    expect(got.records.map((r) => [r.value, r.partition, r.run])).toEqual([[0, 'before', null], [1, 'app', 'r1'], [2, null, null], [3, null, null], [4, 'set', null], [5, 'q', null]]);
  });

  it('decodes to what encodeV1() decodes to, labels, odd numbers, errors and escapes included', () => {
    const b = new SampleBatch(identity.node, identity.collector);
    b.begin(ts, identity.seq);
    b.source('perf');
    b.addEncoded(JSON.stringify('task-clock'), 1.5e9, 3, 0.25, b.encodeLabels({ cgroup: '/a b/"c"', comm: 'ünï\ncode' }));
    b.add('cycles', Number.NaN, 0, 1);
    b.add('instructions', -0, -1, Number.POSITIVE_INFINITY);
    b.source('procfs');
    b.addFields({ metric: 'irq.count', value: 7, cpu: 1, irq: '36:virtio1-req.0' });
    b.addFields({ metric: 'mem.free', value: 2 ** 53 + 2 });
    b.addFields({ metric: 'kitten.x', value: 0.1, ts: 5n, source: 'kitten', device: null, le: '+Inf' });
    const records: RecordInput<'samples'>[] = [
      { ts, ...identity, idx: 0, source: 'perf', metric: 'task-clock', value: 1.5e9, cpu: 3, scale: 0.25, cgroup: '/a b/"c"', comm: 'ünï\ncode' },
      { ts, ...identity, idx: 1, source: 'perf', metric: 'cycles', value: Number.NaN, cpu: 0, scale: 1 },
      { ts, ...identity, idx: 2, source: 'perf', metric: 'instructions', value: -0, cpu: -1, scale: Number.POSITIVE_INFINITY },
      { ts, ...identity, idx: 3, source: 'procfs', metric: 'irq.count', value: 7, cpu: 1, irq: '36:virtio1-req.0' },
      { ts, ...identity, idx: 4, source: 'procfs', metric: 'mem.free', value: 2 ** 53 + 2 },
      { ts: 5n, ...identity, idx: 5, source: 'kitten', metric: 'kitten.x', value: 0.1, device: null, le: '+Inf' },
    ];
    expect(b.count).toBe(6);
    const body = b.finish();
    expect(body.toString()).toMatch(/^\{"v":2,"type":"samples","n":6,/);
    const got = decode(body, 'samples');
    const want = decode(encodeV1('samples', records), 'samples');
    expect(got.errors).toEqual(want.errors); // NaN, ±Infinity: refused with the same reasons
    expect(got.errors.map((e) => e.index)).toEqual([1, 2]);
    expect(withNullLabels(got.records)).toEqual(withNullLabels(want.records));
  });

  it('writes what the batch shares once and leaves default-only columns out', () => {
    const b = new SampleBatch('n1', 'n1/procfs');
    b.begin(ts, 3);
    b.source('procfs');
    for (let i = 0; i < 3; i++) b.add('cpu.user', i);
    const text = b.finish().toString();
    expect(JSON.parse(text)).toEqual({
      v: 2, type: 'samples', n: 3,
      cols: { ts: { c: String(ts) }, node: { c: 'n1' }, collector: { c: 'n1/procfs' }, seq: { c: 3 }, idx: { r: 0 }, source: { c: 'procfs' }, metric: ['cpu.user', 'cpu.user', 'cpu.user'], value: [0, 1, 2], cpu: { c: -1 } },
    });
    const d = decode(text, 'samples');
    expect(d.errors).toEqual([]);
    expect(d.records.map((r) => [r.idx, r.value, r.cpu, r.scale])).toEqual([[0, 0, -1, 1], [1, 1, -1, 1], [2, 2, -1, 1]]);
  });

  it('carries event-source samples\' own ts, partition and run, the others keeping the batch\'s', () => {
    const b = new SampleBatch('n1', 'n1/x');
    b.begin(ts, 1);
    b.source('a');
    b.add('first', 1);
    b.addFields({ metric: 'own', value: 2, ts: 7n, partition: 'p1', run: 'r1' });
    b.add('third', 3, 0, 0.5);
    const d = decode(b.finish(), 'samples');
    expect(d.errors).toEqual([]);
    expect(d.records.map((r) => [r.ts, r.metric, r.partition, r.run, r.cpu, r.scale])).toEqual([
      [ts, 'first', null, null, -1, 1],
      [7n, 'own', 'p1', 'r1', -1, 1],
      [ts, 'third', null, null, 0, 0.5],
    ]);
  });

  it('is read back by decode() and starts afresh with begin()', () => {
    const b = new SampleBatch('n1', 'n1/procfs');
    b.begin(1n, 0);
    b.source('procfs');
    b.add('cpu.user', 1);
    b.finish();
    b.begin(ts, 7);
    b.source('procfs');
    b.add('cpu.user', 0.02, 1);
    b.add('context_switches', 1234);
    const d = decode(b.finish(), 'samples');
    expect(d.errors).toEqual([]);
    expect(d.records.map((r) => [r.ts, r.seq, r.idx, r.metric, r.value, r.cpu, r.scale])).toEqual([
      [ts, 7, 0, 'cpu.user', 0.02, 1, 1],
      [ts, 7, 1, 'context_switches', 1234, -1, 1],
    ]);
  });

  it('rolls back what a failing source appended', () => {
    const b = new SampleBatch('n1', 'n1/x');
    b.begin(ts, 1);
    b.source('a');
    b.add('kept', 1);
    const mark = b.mark();
    b.source('b');
    b.add('lost', 2);
    b.rollback(mark);
    b.source('c');
    b.add('next', 3);
    const d = decode(b.finish(), 'samples');
    expect(d.records.map((r) => [r.idx, r.source, r.metric])).toEqual([[0, 'a', 'kept'], [1, 'c', 'next']]);
  });
  it('writes numbers as JSON.stringify does: integers up to and beyond 2^53, -0, fractions, exponents, non-finite as null', () => {
    const values = [0, -0, 7, -7, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) + 1, 123_456_789_012, 1e21, 1.5e300, 0.1, -0.25, 1e-7, 5e-324, Number.NaN, Infinity, -Infinity];
    const b = new SampleBatch('n1', 'n1/x');
    b.begin(ts, 1);
    b.source('a');
    values.forEach((v, i) => b.add('m', v, i));
    const text = b.finish().toString();
    expect(text).toContain(`"value":${JSON.stringify(values)},"cpu":${JSON.stringify(values.map((_, i) => i))}`);
  });

  it('decodes to what encodeV1() decodes to for random batches, with rollbacks, stamps and event-source fields mixed in', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const odd = [0, -0, 1, -1, 0.1, 1e21, 2 ** 53 + 2, -(2 ** 31), 123_456_789_012, 5e-324, Number.NaN, Infinity];
    const labelSets = [{}, { cgroup: '/' }, { cgroup: '/app "x"', comm: 'ünï' }, { irq: '36:virtio' }, { device: 'node0' }, { cgroup: '/', le: '+Inf' }, { comm: null, le: '0.5' }];
    const b = new SampleBatch(identity.node, identity.collector);
    for (let batch = 0; batch < 200; batch++) {
      b.begin(ts + BigInt(batch), batch);
      let want: RecordInput<'samples'>[] = [];
      let source = '';
      const n = Math.floor(rnd() * 60);
      for (let i = 0; i < n; i++) {
        if (i === 0 || rnd() < 0.1) b.source((source = pick(['perf', 'procfs', 'ebpf'])));
        const value = rnd() < 0.2 ? pick(odd) : rnd() < 0.5 ? Math.floor(rnd() * 1e12) : rnd() * 100;
        const cpu = rnd() < 0.05 ? pick(odd) : pick([-1, 0, 1]);
        const scale = rnd() < 0.05 ? rnd() : 1;
        const labels = pick(labelSets);
        const metric = pick(['task-clock', 'mem.free', 'run_queue_latency_seconds', 'x"y']);
        const record: RecordInput<'samples'> = { ts: ts + BigInt(batch), node: identity.node, collector: identity.collector, seq: batch, idx: 0, source, metric, value, cpu, scale, ...labels };
        if (rnd() < 0.1) {
          const own = { ...(rnd() < 0.5 ? { ts: BigInt(i) } : {}), ...(rnd() < 0.5 ? { partition: 'p' } : {}), ...(rnd() < 0.5 ? { run: null } : {}), ...(rnd() < 0.3 ? { source: 'kitten' } : {}) };
          b.addFields({ metric, value, cpu, scale, ...labels, ...own });
          Object.assign(record, own);
        } else b.addEncoded(JSON.stringify(metric), value, cpu, scale, b.encodeLabels(labels));
        want.push(record);
        if (rnd() < 0.05) {
          const from = Math.floor(rnd() * want.length);
          const partition = rnd() < 0.5 ? null : 'q';
          b.stampPartition(from, partition, 'r');
          for (const r of want.slice(from)) Object.assign(r, { partition, run: 'r' });
        }
        if (rnd() < 0.05) {
          const from = Math.floor(rnd() * want.length);
          b.stampPartitionByCgroup(from, new Map([[JSON.stringify('/'), { partition: 'root', run: null }]]));
          for (const r of want.slice(from)) if (r.cgroup === '/' && (r.partition === undefined || r.partition === null)) Object.assign(r, { partition: 'root', run: null });
        }
        if (rnd() < 0.03) {
          const to = Math.floor(rnd() * (want.length + 1));
          b.rollback({ count: to });
          want = want.slice(0, to);
        }
      }
      want.forEach((r, idx) => (r.idx = idx));
      const got = decode(b.finish(), 'samples');
      const expected = decode(encodeV1('samples', want), 'samples');
      expect(got.errors).toEqual(expected.errors);
      expect(withNullLabels(got.records)).toEqual(withNullLabels(expected.records));
    }
  });
});
