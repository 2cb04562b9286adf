/**
 * The hot-path check never disagrees with zod: for valid records and for every kind of bad value
 * in every column of every record type, a record it accepts is one zod accepts with the same
 * output, and decode() gives the same records and the same error messages as a zod parse of each.
 */
import { describe, expect, it } from 'vitest';
import { decode, describeIssues } from './codec.js';
import { fastCheck } from './fast-validate.js';
import { RECORDS, RECORD_NAMES, definitionOf, type RecordName } from './records.js';

const VALID: Record<RecordName, Record<string, unknown>> = {
  samples: { ts: '1795537485066456789', node: 'n1', collector: 'n1/procfs', seq: 42, idx: 0, source: 'procfs', metric: 'cpu.user', value: 0.25 },
  events: { ts: '1', node: 'n1', collector: 'c', seq: 1, idx: 0, source: 'linux', level: 'info', kind: 'k', message: 'm', fields: { a: 1 } },
  partitions: { ts: '1', partition: 'p1', node: 'n1', driver: 'pisces-kitten', action: 'create', cpus: '4-7', mem_mb: 4096, numa: '1', devices: null },
  runs: { ts: '1', run: 'r1', experiment: 'e', workload: 'hpcc', phase: 'end', nodes: 'n1', node_count: 1, stack: 'linux', background: true, repetition: 3 },
  alerts: { ts: '1', alert: 'a1', rule: 'r', state: 'firing', severity: 'warning', message: 'm', value: 3.2 },
};

/** Values that are wrong (or borderline) for some column kind. */
const ODD: unknown[] = [
  null, '', 'x', 'x'.repeat(257), 'x'.repeat(65537), 0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_SAFE_INTEGER,
  'NaN', true, false, [], [1], {}, { a: 1 }, 'linux-cpuset', 'firing', 'info', 'start', 'create',
];

/** Every record variant: valid, each column absent, each column replaced by each odd value, an extra field. */
function variants(name: RecordName): string[] {
  const base = VALID[name];
  const out: Record<string, unknown>[] = [base];
  for (const col of Object.keys(definitionOf(name).columns)) {
    const { [col]: _dropped, ...without } = base;
    out.push(without);
    for (const v of ODD) if (col !== 'ts') out.push({ ...base, [col]: v });
  }
  out.push({ ...base, colour: 'red' });
  // NaN and Infinity cannot travel in JSON; they are checked directly below.
  return out.map((r) => JSON.stringify(r));
}

/** What decode gave before the hot path: a zod parse of every record. */
function zodOnly(name: RecordName, raw: Record<string, unknown>, index: number): { ok: true; data: unknown } | { ok: false; reason: string } {
  const r = RECORDS[name].schema.safeParse(raw.ts === undefined ? raw : { ...raw, ts: BigInt(raw.ts as string) });
  return r.success ? { ok: true, data: r.data } : { ok: false, reason: describeIssues(`records[${index}]`, r.error.issues) };
}

describe('fast validation', () => {
  it.each(RECORD_NAMES)('agrees with zod on every %s variant, messages included', (name) => {
    const raws = variants(name).map((j) => JSON.parse(j) as Record<string, unknown>);
    const decoded = decode(JSON.stringify({ v: 1, type: name, records: raws }), name);
    const expected = raws.map((r, i) => zodOnly(name, r, i));
    expect(decoded.records).toEqual(expected.filter((e) => e.ok).map((e) => (e as { data: unknown }).data));
    expect(decoded.errors).toEqual(expected.flatMap((e, index) => (e.ok ? [] : [{ index, reason: e.reason }])));
    expect(decoded.records.length).toBeGreaterThan(0);
    expect(decoded.errors.length).toBeGreaterThan(10);
  });

  it('never accepts what zod refuses, for values JSON cannot carry', () => {
    for (const v of [NaN, Infinity, -Infinity, undefined, 10n, Symbol('s'), new Date(0), Object.create(null)]) {
      for (const col of ['value', 'seq', 'idx', 'node', 'cpu']) {
        const rec = { ...VALID.samples, ts: 1n, [col]: v } as Record<string, unknown>;
        const zodOk = RECORDS.samples.schema.safeParse({ ...rec }).success;
        if (fastCheck('samples')({ ...rec })) expect(zodOk).toBe(true);
      }
    }
  });

  it('fills in defaults with a fresh object each time', () => {
    const a = { ...VALID.events, ts: 1n } as Record<string, unknown>;
    const b = { ...VALID.events, ts: 1n } as Record<string, unknown>;
    delete a.fields;
    delete b.fields;
    expect(fastCheck('events')(a) && fastCheck('events')(b)).toBe(true);
    expect(a.fields).toEqual({});
    expect(a.fields).not.toBe(b.fields);
    const s = { ...VALID.samples, ts: 1n } as Record<string, unknown>;
    expect(fastCheck('samples')(s)).toBe(true);
    expect(s).toMatchObject({ cpu: -1, scale: 1 });
  });
});
