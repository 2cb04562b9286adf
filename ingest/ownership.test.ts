/** Unit tests of the ownership index and cpu lists: runs and partitions in any order. */
import { describe, expect, it } from 'vitest';
import { validate } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import { OwnershipIndex } from './ownership.js';

const S = 1_000_000_000n; // one second in ns
const T0 = 1_800_000_000n * S;

function run(runId: string, phase: 'start' | 'end' | 'fail' | 'abort', ts: bigint, nodes = 'n1'): RecordInput<'runs'> {
  return { ts, run: runId, experiment: 'e', workload: 'hpcc', phase, nodes, node_count: nodes.split(',').length, stack: 'linux', background: false, repetition: 1 };
}
function part(partition: string, action: 'create' | 'resize' | 'destroy' | 'fail', ts: bigint, cpus: string, extra: Partial<RecordInput<'partitions'>> = {}): RecordInput<'partitions'> {
  return { ts, partition, node: 'n1', driver: 'linux-cpuset', action, cpus, mem_mb: 1024, ...extra };
}
function index(runs: RecordInput<'runs'>[], parts: RecordInput<'partitions'>[] = []): OwnershipIndex {
  const idx = new OwnershipIndex();
  for (const r of validate('runs', runs)) idx.applyRun(r);
  for (const p of validate('partitions', parts)) idx.applyPartition(p);
  return idx;
}

describe('OwnershipIndex: runs', () => {
  it('owns the nodes from start (inclusive) to end (exclusive)', () => {
    const idx = index([run('r1', 'start', T0, 'n1,n2'), run('r1', 'end', T0 + 10n * S, 'n1,n2')]);
    expect(idx.runAt('n1', T0 - 1n)).toBeNull();
    expect(idx.runAt('n1', T0)).toBe('r1');
    expect(idx.runAt('n2', T0 + 5n * S)).toBe('r1');
    expect(idx.runAt('n1', T0 + 10n * S - 1n)).toBe('r1');
    expect(idx.runAt('n1', T0 + 10n * S)).toBeNull();
    expect(idx.runAt('n3', T0 + S)).toBeNull();
  });
  it('gives the same answer whatever order the phases arrive in, duplicates included', () => {
    const records = [run('r1', 'start', T0), run('r1', 'fail', T0 + 3n * S), run('r2', 'start', T0 + 4n * S), run('r2', 'abort', T0 + 6n * S)];
    const forward = index(records);
    const backward = index([...records].reverse());
    const doubled = index([...records, ...records]);
    for (const t of [T0 - S, T0, T0 + 2n * S, T0 + 3n * S, T0 + 4n * S, T0 + 5n * S, T0 + 6n * S]) {
      expect(backward.runAt('n1', t)).toBe(forward.runAt('n1', t));
      expect(doubled.runAt('n1', t)).toBe(forward.runAt('n1', t));
    }
    expect(forward.runAt('n1', T0 + 5n * S)).toBe('r2');
    expect(forward.runAt('n1', T0 + 3n * S)).toBeNull();
  });
  it('keeps a run open while its end is unknown, and an end alone owns nothing', () => {
    const idx = index([run('open', 'start', T0), run('orphan', 'end', T0 + S, 'n2')]);
    expect(idx.runAt('n1', T0 + 1000n * S)).toBe('open');
    expect(idx.runAt('n2', T0)).toBeNull();
  });
  it('gives overlapping runs on a node to the one started last', () => {
    const idx = index([run('outer', 'start', T0), run('inner', 'start', T0 + 2n * S), run('inner', 'end', T0 + 4n * S)]);
    expect(idx.runAt('n1', T0 + S)).toBe('outer');
    expect(idx.runAt('n1', T0 + 3n * S)).toBe('inner');
    expect(idx.runAt('n1', T0 + 5n * S)).toBe('outer');
  });
});

describe('OwnershipIndex: partitions', () => {
  it('follows create, resize and destroy per CPU', () => {
    const idx = index([], [part('p1', 'create', T0, '0-3,8'), part('p1', 'resize', T0 + 10n * S, '0-1'), part('p1', 'destroy', T0 + 20n * S, '')]);
    expect(idx.partitionAt('n1', 2, T0 - 1n)).toBeNull();
    expect(idx.partitionAt('n1', 2, T0)?.partition).toBe('p1');
    expect(idx.partitionAt('n1', 8, T0 + 5n * S)?.partition).toBe('p1');
    expect(idx.partitionAt('n1', 4, T0 + 5n * S)).toBeNull();
    expect(idx.partitionAt('n1', 2, T0 + 10n * S)).toBeNull(); // resized away
    expect(idx.partitionAt('n1', 1, T0 + 15n * S)?.partition).toBe('p1');
    expect(idx.partitionAt('n1', 1, T0 + 20n * S)).toBeNull();
    expect(idx.partitionAt('n2', 1, T0 + 5n * S)).toBeNull();
  });
  it('is order-independent and idempotent', () => {
    const records = [part('p1', 'create', T0, '0-3'), part('p2', 'create', T0 + S, '4-7'), part('p1', 'fail', T0 + 2n * S, ''), part('p2', 'resize', T0 + 3n * S, '0-7')];
    const a = index([], records);
    const b = index([], [...records].reverse().concat(records));
    expect(b.size.partitionSteps).toBe(4);
    for (const t of [T0, T0 + S, T0 + 2n * S, T0 + 3n * S]) for (const cpu of [0, 5]) expect(b.partitionAt('n1', cpu, t)).toEqual(a.partitionAt('n1', cpu, t));
    expect(a.partitionAt('n1', 0, T0 + 3n * S)?.partition).toBe('p2');
    expect(a.partitionAt('n1', 0, T0 + 2n * S)).toBeNull();
  });
  it('gives a CPU claimed twice to the most recently changed partition, and node-wide values to none', () => {
    const idx = index([], [part('old', 'create', T0, '0-7'), part('new', 'create', T0 + S, '4')]);
    expect(idx.partitionAt('n1', 4, T0 + 2n * S)?.partition).toBe('new');
    expect(idx.partitionAt('n1', 3, T0 + 2n * S)?.partition).toBe('old');
    expect(idx.partitionAt('n1', -1, T0 + 2n * S)).toBeNull();
  });
  it('leaves a CPU shared by sibling partitions (equal or crossing claims) to none, whatever the arrival order', () => {
    const records = [part('b', 'create', T0, '0'), part('a', 'create', T0, '0')];
    expect(index([], records).partitionAt('n1', 0, T0)).toBeNull();
    expect(index([], [...records].reverse()).partitionAt('n1', 0, T0)).toBeNull();
    const later = index([], [part('app', 'create', T0, '0'), part('noise', 'create', T0 + S, '0'), part('x', 'create', T0, '2-5'), part('y', 'create', T0 + S, '4-7')]);
    expect(later.partitionAt('n1', 0, T0 + 2n * S)).toBeNull();
    expect(later.partitionAt('n1', 0, T0)?.partition).toBe('app'); // before noise existed
    expect(later.partitionAt('n1', 4, T0 + 2n * S)).toBeNull();
    expect(later.partitionAt('n1', 3, T0 + 2n * S)?.partition).toBe('x');
    expect(later.partitionAt('n1', 7, T0 + 2n * S)?.partition).toBe('y');
  });
  it('answers from records applied after earlier lookups (no stale cache)', () => {
    const idx = index([run('r1', 'start', T0)], [part('p1', 'create', T0, '0-3')]);
    expect(idx.runAt('n1', T0 + 5n * S)).toBe('r1');
    expect(idx.partitionAt('n1', 2, T0 + 5n * S)?.partition).toBe('p1');
    for (const r of validate('runs', [run('r1', 'end', T0 + 4n * S), run('r2', 'start', T0 + 2n * S, 'n1')])) idx.applyRun(r);
    for (const p of validate('partitions', [part('p1', 'resize', T0 + 3n * S, '0-1')])) idx.applyPartition(p);
    expect(idx.runAt('n1', T0 + 5n * S)).toBe('r2');
    expect(idx.runAt('n1', T0 + S)).toBe('r1');
    expect(idx.partitionAt('n1', 2, T0 + 5n * S)).toBeNull();
    expect(idx.partitionAt('n1', 2, T0 + 2n * S)?.partition).toBe('p1');
  });
  it('reports a malformed cpu list and treats that action as owning nothing', () => {
    const idx = new OwnershipIndex();
    const [bad] = validate('partitions', [part('p1', 'create', T0, '0-x')]);
    expect(() => idx.applyPartition(bad!)).toThrow(/partition p1 on node n1 \(create at \d+\): cpu list "0-x"/);
    expect(idx.partitionAt('n1', 0, T0 + S)).toBeNull();
  });
});

describe('OwnershipIndex.ownersOf', () => {
  const idx = index([run('r1', 'start', T0)], [part('p1', 'create', T0, '0-3', { run: 'r-from-partition' }), part('p2', 'create', T0, '0', { node: 'n2', run: 'r9' })]);
  const sample = (node: string, cpu: number, ts: bigint) => ({ node, cpu, ts, run: null, partition: null });
  it('tags run by node and partition by node and CPU', () => {
    expect(idx.ownersOf(sample('n1', 2, T0 + S))).toEqual({ run: 'r1', partition: 'p1' });
    expect(idx.ownersOf(sample('n1', -1, T0 + S))).toEqual({ run: 'r1', partition: null });
    expect(idx.ownersOf(sample('n1', 2, T0 - S))).toEqual({ run: null, partition: null });
  });
  it("falls back to the partition's run when no run record covers the node", () => {
    expect(idx.ownersOf(sample('n2', 0, T0 + S))).toEqual({ run: 'r9', partition: 'p2' });
  });
  it('keeps values the sample already carries', () => {
    expect(idx.ownersOf({ node: 'n1', cpu: 2, ts: T0 + S, run: 'mine', partition: 'own' })).toEqual({ run: 'mine', partition: 'own' });
  });
});
