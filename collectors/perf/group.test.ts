/**
 * CounterGroup.readDeltas (the collector's allocation-free path) gives exactly what the reference
 * decoder of read-format.ts (BigInt, Maps) gives for the same sequence of kernel group reads:
 * captured reads, multiplexed intervals, a never-scheduled group, a counter going backwards.
 */
import { describe, expect, it } from 'vitest';
import { CounterGroup } from './group.js';
import type { PerfNative } from './native.js';
import { decodeGroupRead, groupDeltas, groupReadSize, type ScaledDelta } from './read-format.js';

function groupBytes(enabled: bigint, running: bigint, values: [id: bigint, value: bigint][]): Buffer {
  const b = Buffer.alloc(groupReadSize(values.length));
  b.writeBigUInt64LE(BigInt(values.length), 0);
  b.writeBigUInt64LE(enabled, 8);
  b.writeBigUInt64LE(running, 16);
  values.forEach(([id, v], i) => {
    b.writeBigUInt64LE(v, 24 + 16 * i);
    b.writeBigUInt64LE(id, 32 + 16 * i);
  });
  return b;
}

/** A PerfNative whose read(2) returns the given byte strings in turn (the kernel side is perf.test.ts's). */
function replay(reads: Buffer[]): PerfNative {
  let next = 0;
  let id = 100n;
  return {
    open: () => 3,
    eventId: () => id++,
    ioctl: () => 0,
    read(_fd, buf) {
      const r = reads[next++];
      if (r === undefined) return 0;
      r.copy(buf);
      return r.length;
    },
    close: () => undefined,
    mount: () => 0,
  };
}

describe('CounterGroup.readDeltas', () => {
  it('matches the reference decoder over multiplexed, idle and backwards intervals', () => {
    const reads = [
      groupBytes(1_000_000n, 1_000_000n, [[100n, 5_000n], [101n, 7n], [102n, 2n ** 40n]]),
      groupBytes(3_000_000n, 3_000_000n, [[100n, 9_000n], [101n, 7n], [102n, 2n ** 40n + 123_456_789n]]),
      groupBytes(7_000_000n, 4_000_000n, [[100n, 10_000n], [101n, 8n], [102n, 2n ** 40n + 123_456_800n]]), // multiplexed: 1/4 running
      groupBytes(9_000_000n, 4_000_000n, [[100n, 10_000n], [101n, 8n], [102n, 2n ** 40n + 123_456_800n]]), // never on the PMU
      groupBytes(9_000_000n, 4_000_000n, [[100n, 10_000n], [101n, 3n], [102n, 2n ** 40n + 123_456_801n]]), // not scheduled; 101 went backwards
    ];
    const g = new CounterGroup({ pid: -1, cpu: 0, flags: 0, labels: { cpu: 0 } }, 3, replay(reads), 3);
    g.add(3, 5);
    g.add(4, 0);
    g.add(5, 2);
    const ids = new Map([[100n, 5], [101n, 0], [102n, 2]]);
    expect(g.readDeltas()).toBe(0);
    for (let r = 1; r < reads.length; r++) {
      const expected = new Map<number, ScaledDelta>();
      for (const [id, d] of groupDeltas(decodeGroupRead(reads[r - 1]!, reads[r - 1]!.length), decodeGroupRead(reads[r]!, reads[r]!.length))) expected.set(ids.get(id)!, d);
      const n = g.readDeltas();
      expect(n).toBe(3);
      const got = new Map<number, ScaledDelta>();
      for (let i = 0; i < n; i++) if (g.deltaIndex[i]! >= 0) got.set(g.deltaIndex[i]!, { value: g.deltas[i]!, scale: g.scale });
      expect(got).toEqual(expected);
    }
    expect(g.readDeltas()).toBe(-1); // the CPU went offline: read(2) returns 0 bytes
  });

  it('refuses a read whose length does not match its count', () => {
    const bad = groupBytes(1n, 1n, [[100n, 1n], [101n, 1n]]).subarray(0, 40);
    const g = new CounterGroup({ pid: -1, cpu: 0, flags: 0, labels: { cpu: 0 } }, 3, replay([bad]), 2);
    expect(() => g.readDeltas()).toThrow('perf group read of 2 events returned 40 bytes; expected 56');
  });
});
