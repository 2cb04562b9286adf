import { describe, expect, it } from 'vitest';
import { decode, encode, encodeV1, SCHEMA_VERSION, validate } from './codec.js';
import { RECORD_NAMES, type RecordInput, type RecordName } from './records.js';

const TS = 1_795_537_485_066_456_789n; // beyond 2^53: must survive exactly

/** Version 2 does not tell a null from an absent nullable field (both are stored as NULL). */
const withoutNulls = (r: object) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null && v !== undefined));

const examples: { [N in RecordName]: RecordInput<N>[] } = {
  samples: [
    { ts: TS, node: 'n1', collector: 'n1/procfs', seq: 42, idx: 0, source: 'procfs', metric: 'cpu.user', value: 0.25, cpu: 1 },
    { ts: TS + 1n, node: 'n1', collector: 'n1/procfs', seq: 42, idx: 1, source: 'ebpf', metric: 'runqlat', value: 7, cgroup: '/exp/p1', le: '+Inf', partition: 'p1', run: 'r1', scale: 0.5 },
  ],
  events: [{ ts: TS, node: 'n1', collector: 'n1/logs', seq: 1, idx: 0, source: 'palacios', level: 'info', kind: 'vm_create', vm: 'guest0', vcore: 0, pcore: 3, message: 'VM created', fields: { vm_id: 1 }, raw: 'V3> created' }],
  partitions: [{ ts: TS, partition: 'p1', node: 'n1', driver: 'pisces-kitten', action: 'create', cpus: '4-7', mem_mb: 4096, numa: '1', devices: null, run: 'r1' }],
  runs: [{ ts: TS, run: 'r1', experiment: 'hpl-scaling', workload: 'hpcc', phase: 'end', nodes: 'n1,n2', node_count: 2, stack: 'kitten-pisces', background: true, repetition: 3, config: { np: 4 }, result: 12.5, unit: 'GFLOP/s' }],
  alerts: [{ ts: TS, alert: 'a1', rule: 'llc-miss-spike', state: 'firing', severity: 'warning', node: 'n1', metric: 'LLC-load-misses', value: 3.2, message: 'LLC misses 3.2σ above baseline' }],
};

describe('codec', () => {
  it.each(RECORD_NAMES)('round-trips %s records exactly, with defaults applied', (name) => {
    const valid = validate(name, examples[name] as never);
    const decoded = decode(encode(name, valid), name);
    expect(decoded.errors).toEqual([]);
    expect(decoded.version).toBe(SCHEMA_VERSION);
    expect(decoded.records.map(withoutNulls)).toEqual(valid.map(withoutNulls));
    const v1 = decode(encodeV1(name, valid), name); // what older producers wrote is still read
    expect(v1.version).toBe(1);
    expect(v1.records).toEqual(valid);
    expect(typeof (decoded.records[0] as { ts: unknown }).ts).toBe('bigint');
    expect((decoded.records[0] as { ts: bigint }).ts).toBe(TS);
  });

  it('fills in defaults (cpu -1, scale 1, fields {})', () => {
    const [s] = validate('samples', [{ ts: TS, node: 'n', collector: 'c', seq: 0, idx: 0, source: 'procfs', metric: 'm', value: 1 }]);
    expect(s).toMatchObject({ cpu: -1, scale: 1 });
  });

  it('carries the schema version in every message', () => {
    const body = JSON.parse(encode('runs', examples.runs).toString());
    expect(body.v).toBe(SCHEMA_VERSION);
    expect(body.type).toBe('runs');
  });

  it('keeps good records and names each bad one with where and why', () => {
    const body = JSON.stringify({
      v: 1,
      type: 'samples',
      records: [
        { ts: '1', node: 'n', collector: 'c', seq: 0, idx: 0, source: 's', metric: 'm', value: 1 },
        { ts: '2', node: 'n', collector: 'c', seq: 0, idx: 1, source: 's', metric: 'm', value: 'high' },
        { ts: 'yesterday', node: 'n', collector: 'c', seq: 0, idx: 2, source: 's', metric: 'm', value: 1 },
        { ts: '3', node: 'n', collector: 'c', seq: 0, idx: 3, source: 's', metric: 'm', value: 1, colour: 'red' },
        { ts: '4', collector: 'c', seq: 0, idx: 4, source: 's', metric: 'm', value: 1 },
      ],
    });
    const d = decode(body, 'samples');
    expect(d.records).toHaveLength(1);
    expect(d.errors.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(d.errors[0]!.reason).toMatch(/^records\[1\]\.value: .*expected number/i);
    expect(d.errors[1]!.reason).toBe('records[2].ts: expected integer nanoseconds since the epoch as a decimal string, got "yesterday"');
    expect(d.errors[2]!.reason).toMatch(/records\[3\].*colour/);
    expect(d.errors[3]!.reason).toMatch(/^records\[4\]\.node: /);
  });

  it.each([
    ['not json', '{"v":1,', /not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['an unknown version', '{"v":3,"type":"samples","records":[]}', /unsupported schema version 3: this isoscope reads versions 1 and 2/],
    ['a v2 message without n', '{"v":2,"type":"samples","cols":{}}', /"n" must be the number of records/],
    ['a v2 column of the wrong length', '{"v":2,"type":"samples","n":2,"cols":{"value":[1]}}', /column "value" has 1 values for 2 records/],
    ['a v2 column the schema does not know', '{"v":2,"type":"samples","n":1,"cols":{"colour":{"c":"red"}}}', /unknown column "colour" for samples records/],
    ['a v2 column of no known form', '{"v":2,"type":"samples","n":1,"cols":{"value":{"x":1}}}', /column "value" must be an array of 1 values/],
    ['an unknown type', '{"v":1,"type":"metrics","records":[]}', /unknown record type "metrics"/],
    ['the wrong topic', '{"v":1,"type":"events","records":[]}', /"events" does not belong on the samples topic/],
    ['records not an array', '{"v":1,"type":"samples","records":{}}', /"records" must be an array/],
  ])('refuses %s as a whole message', (_label, body, reason) => {
    const d = decode(body, 'samples');
    expect(d.records).toEqual([]);
    expect(d.errors).toHaveLength(1);
    expect(d.errors[0]!.index).toBe(-1);
    expect(d.errors[0]!.reason).toMatch(reason);
  });

  it('writes a collector batch column-wise: shared values once, idx as a run', () => {
    const batch = validate('samples', Array.from({ length: 3 }, (_, idx) => ({ ts: TS, node: 'n', collector: 'c', seq: 9, idx, source: 's', metric: `m${idx}`, value: idx / 2, ...(idx === 1 ? { cgroup: '/g' } : {}) })));
    const body = JSON.parse(encode('samples', batch).toString());
    expect(body).toEqual({
      v: 2, type: 'samples', n: 3,
      cols: { ts: { c: String(TS) }, node: { c: 'n' }, collector: { c: 'c' }, seq: { c: 9 }, idx: { r: 0 }, source: { c: 's' }, metric: ['m0', 'm1', 'm2'], value: [0, 0.5, 1], cpu: { c: -1 }, scale: { c: 1 }, cgroup: [null, '/g', null] },
    });
    expect(decode(encode('samples', batch), 'samples').records.map(withoutNulls)).toEqual(batch.map(withoutNulls));
  });

  it('writes version 1 for records with fields the schema does not know, so validation names them', () => {
    const body = encode('samples', [{ ts: TS, node: 'n', collector: 'c', seq: 0, idx: 0, source: 's', metric: 'm', value: 1, colour: 'red' } as never]);
    expect(JSON.parse(body.toString()).v).toBe(1);
    expect(decode(body, 'samples').errors[0]!.reason).toMatch(/records\[0\].*colour/);
  });

  it('names each bad record of a v2 message as version 1 does, and keeps the good ones', () => {
    const body = JSON.stringify({ v: 2, type: 'samples', n: 3, cols: { ts: ['1', 'yesterday', '3'], node: { c: 'n' }, collector: { c: 'c' }, seq: { c: 0 }, idx: { r: 0 }, source: { c: 's' }, metric: { c: 'm' }, value: [1, 'high', 3] } });
    const d = decode(body, 'samples');
    expect(d.records.map((r) => r.idx)).toEqual([0, 2]);
    expect(d.errors).toEqual([
      { index: 1, reason: 'records[1].ts: expected integer nanoseconds since the epoch as a decimal string, got "yesterday"' },
    ]);
    const missing = decode(JSON.stringify({ v: 2, type: 'samples', n: 1, cols: { ts: { c: '1' }, collector: { c: 'c' }, seq: { c: 0 }, idx: { c: 0 }, source: { c: 's' }, metric: { c: 'm' }, value: { c: 1 } } }), 'samples');
    expect(missing.errors[0]!.reason).toMatch(/^records\[0\]\.node: /);
    const badValue = decode(JSON.stringify({ v: 2, type: 'samples', n: 2, cols: { ts: { c: '1' }, node: { c: 'n' }, collector: { c: 'c' }, seq: { c: 0 }, idx: { r: 0 }, source: { c: 's' }, metric: { c: 'm' }, value: [1, 'high'] } }), 'samples');
    expect(badValue.records).toHaveLength(1);
    expect(badValue.errors).toEqual([{ index: 1, reason: expect.stringMatching(/^records\[1\]\.value: .*expected number/i) }]);
  });

  it('refuses out-of-range values with the bound', () => {
    const d = decode(JSON.stringify({ v: 1, type: 'partitions', records: [{ ts: '-5', partition: 'p', node: 'n', driver: 'xen', action: 'create', cpus: '', mem_mb: 1 }] }), 'partitions');
    expect(d.errors[0]!.reason).toMatch(/records\[0\]\.ts: expected nanoseconds since the epoch, got a negative value/);
    expect(d.errors[0]!.reason).toMatch(/records\[0\]\.driver: .*linux-cpuset/);
  });

  it('validate() throws with every reason', () => {
    expect(() => validate('runs', [{ run: 'r' } as never])).toThrow(/invalid runs record: records\[0\]\.ts: .*records\[0\]\.experiment/);
  });
});
