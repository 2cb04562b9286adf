/** The rule engine: `for`, once per incident, resolution, aggregation, run end, baselines. */
import { describe, expect, it } from 'vitest';
import { RuleEngine } from './engine.js';
import type { SampleView } from './rules/match.js';
import { ruleSchema } from './rules/schema.js';

const S = 1_000_000_000n;
const sample = (sec: number, value: number, extra: Partial<SampleView> = {}): SampleView => ({ ts: BigInt(sec) * S, node: 'n1', metric: 'm', value, cpu: 0, source: 'procfs', collector: 'n1/c', run: 'r1', ...extra });

describe('RuleEngine', () => {
  const rule = ruleSchema.parse({ name: 'high', metric: 'm', detector: { kind: 'threshold', op: '>', value: 5 }, for: '2s' });

  it('fires once after `for` and resolves at the first normal value', () => {
    const e = new RuleEngine([rule]);
    // breach from 1 s; 2 s after it (at 3 s) it fires; 4 s still firing (no new transition); 5 s resolves.
    const ts = [[0, 3], [1, 6], [2, 7], [3, 8], [4, 9], [5, 4]].map(([t, v]) => e.observe([sample(t!, v!)]));
    expect(ts.map((t) => t.map((x) => x.state))).toEqual([[], [], [], ['firing'], [], ['resolved']]);
    const [fired] = ts[3]!;
    expect(fired!.startsAt).toBe(1n * S);
    expect(fired!.ts).toBe(3n * S);
    expect(fired!.value).toBe(8);
    expect(ts[5]![0]!.alert).toBe(fired!.alert);
    expect(fired!.series).toEqual({ node: 'n1', cpu: '0', run: 'r1' });
    // Same samples, new engine: same incident id (a replay is recognisable downstream).
    const again = new RuleEngine([rule]);
    const ids = [[1, 6], [2, 7], [3, 8]].flatMap(([t, v]) => again.observe([sample(t!, v!)])).map((x) => x.alert);
    expect(ids).toEqual([fired!.alert]);
  });

  it('a breach interrupted before `for` does not fire', () => {
    const e = new RuleEngine([rule]);
    const out = [[0, 6], [1, 7], [2, 1], [3, 6], [4, 7]].flatMap(([t, v]) => e.observe([sample(t!, v!)]));
    expect(out).toEqual([]);
  });

  it('aggregates per series and ts, filters by scope, and resolves on run end', () => {
    const r = ruleSchema.parse({ name: 'sum', metric: 'm', scope: { by: ['node', 'run'], aggregate: 'sum', cpu: [0, 1] }, detector: { kind: 'threshold', op: '>=', value: 10 } });
    const e = new RuleEngine([r]);
    // cpu 0 + cpu 1 = 4 + 6 = 10 → fires; cpu 2 (out of scope) and another metric are ignored.
    const fired = e.observe([sample(1, 4), sample(1, 6, { cpu: 1 }), sample(1, 100, { cpu: 2 }), sample(1, 100, { metric: 'other' })]);
    expect(fired.map((t) => [t.state, t.value])).toEqual([['firing', 10]]);
    expect(e.firing).toBe(1);
    const ended = e.endRun('r1', 2n * S);
    expect(ended.map((t) => [t.state, t.ts, t.alert])).toEqual([['resolved', 2n * S, fired[0]!.alert]]);
    expect(e.firing).toBe(0);
  });

  it('baseline rules stay silent until their distribution is known', () => {
    const r = ruleSchema.parse({ name: 'dev', metric: 'm', detector: { kind: 'baseline', z: 3, minSamples: 2 } });
    let known = false;
    const e = new RuleEngine([r], (_rule, run) => (known && run === 'r1' ? { n: 10, mean: 10, std: 1, low: 8, high: 12 } : null));
    expect(e.observe([sample(1, 20)])).toEqual([]);
    known = true;
    expect(e.observe([sample(2, 20)]).map((t) => t.state)).toEqual(['firing']);
    expect(e.observe([sample(3, 10.5)]).map((t) => t.state)).toEqual(['resolved']);
  });

  it('skips values older than their series', () => {
    const e = new RuleEngine([rule]);
    e.observe([sample(5, 1)]);
    expect(e.observe([sample(4, 100)])).toEqual([]);
    expect(e.outOfOrder).toBe(1);
  });
});
