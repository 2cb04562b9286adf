import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeGroupRead, groupDeltas, groupReadSize, scaleDelta, type GroupReading } from './read-format.js';

/** A group read captured on this repository's VM: task-clock (id 68), sched:sched_switch (69), context-switches (70) on CPU 0. */
const captured = (name: string) => {
  const buf = Buffer.from(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8').trim(), 'hex');
  return { buf, length: buf.length };
};

/** Builds a group read as the kernel lays it out. */
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

describe('decodeGroupRead', () => {
  it('decodes a captured kernel read: times and a count per event id', () => {
    const { buf, length } = captured('group-read-b.hex');
    const r = decodeGroupRead(buf, length);
    expect(r.enabled).toBe(1102165311n);
    expect(r.running).toBe(1102165311n);
    expect(r.values).toEqual(new Map([[68n, 1102166343n], [69n, 3049n], [70n, 3059n]]));
  });

  it('refuses a read whose length does not match its event count', () => {
    const { buf, length } = captured('group-read-truncated.hex');
    expect(() => decodeGroupRead(buf, length)).toThrow('perf group read of 3 events returned 40 bytes; expected 72');
    expect(() => decodeGroupRead(Buffer.alloc(8), 8)).toThrow(/expected at least 24/);
  });
});

describe('groupDeltas', () => {
  it('gives the counts over the interval between two captured reads, unscaled when never multiplexed', () => {
    const a = captured('group-read-a.hex');
    const b = captured('group-read-b.hex');
    const d = groupDeltas(decodeGroupRead(a.buf, a.length), decodeGroupRead(b.buf, b.length));
    expect(d.get(69n)).toEqual({ value: 3049 - 171, scale: 1 });
    expect(d.get(70n)).toEqual({ value: 3059 - 171, scale: 1 });
    expect(d.get(68n)!.value).toBe(1102166343 - 100773941); // task-clock: ns on CPU over ~1 s
  });

  it('scales multiplexed counts by enabled/running over the interval, not since open', () => {
    const before = decodeGroupRead(groupBytes(1_000_000n, 1_000_000n, [[1n, 500n], [2n, 10n]]), 56);
    // Next interval: enabled 4 ms more, running only 1 ms more → counts × 4, scale 0.25.
    const after = decodeGroupRead(groupBytes(5_000_000n, 2_000_000n, [[1n, 800n], [2n, 10n]]), 56);
    const d = groupDeltas(before, after);
    expect(d.get(1n)).toEqual({ value: 1200, scale: 0.25 });
    expect(d.get(2n)).toEqual({ value: 0, scale: 0.25 });
  });

  it('leaves out events missing from the earlier read and counters that went backwards', () => {
    const before: GroupReading = { enabled: 0n, running: 0n, values: new Map([[1n, 10n]]) };
    const after: GroupReading = { enabled: 10n, running: 10n, values: new Map([[1n, 5n], [2n, 7n]]) };
    expect(groupDeltas(before, after).size).toBe(0);
  });
});

describe('scaleDelta', () => {
  it('keeps exact counts exact, and marks a group that never got a counter with scale 0', () => {
    expect(scaleDelta(1000n, 10n, 10n)).toEqual({ value: 1000, scale: 1 });
    expect(scaleDelta(0n, 0n, 0n)).toEqual({ value: 0, scale: 1 }); // cgroup that did not run on that CPU
    expect(scaleDelta(1000n, 10_000_000n, 5_000_000n)).toEqual({ value: 2000, scale: 0.5 });
    expect(scaleDelta(0n, 10_000_000n, 0n)).toEqual({ value: 0, scale: 0 });
  });
});
