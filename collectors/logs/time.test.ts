import { describe, expect, it } from 'vitest';
import { nowNs } from '../../core/clock.js';
import { LogParser } from './parser.js';
import { findLaunchLine, isoToNs, localBootTimeNs, ReplayClock } from './time.js';

describe('isoToNs', () => {
  it('keeps nine fraction digits and honours the zone', () => {
    expect(isoToNs('2026-11-24T16:13:00.123456789Z')).toBe(1_795_536_780_123_456_789n);
    expect(isoToNs('2026-11-24T17:13:00.5+01:00')).toBe(1_795_536_780_500_000_000n);
    expect(isoToNs('2026-11-24T16:13:00Z')).toBe(1_795_536_780_000_000_000n);
  });

  it('refuses times without a zone or in another shape, saying what it expected', () => {
    expect(() => isoToNs('2026-11-24 16:13:00')).toThrow(/expected ISO-8601 with a zone/);
    expect(() => isoToNs('2026-11-24T16:13:00')).toThrow(/invalid time "2026-11-24T16:13:00"/);
  });
});

describe('localBootTimeNs', () => {
  it('agrees with /proc/stat btime (whole seconds) within two seconds', async () => {
    const { readFileSync } = await import('node:fs');
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]!;
    const diff = Number(localBootTimeNs() - BigInt(btime) * 1_000_000_000n) / 1e9;
    expect(Math.abs(diff)).toBeLessThan(2);
    expect(localBootTimeNs()).toBeLessThan(nowNs());
  });
});

describe('anchoring a replayed Kitten capture on the launch event', () => {
  const capture = [
    '[0]:<7>console=serial',
    '[0]:LWK version 1.3.0Kitten (root@build) #1 SMP',
    '[0]:<6>Number of CPUs detected: 1',
    '[0]:<8>(init_task) Adding CPU phys_id 13, apic_id 26',
  ];
  const launch = isoToNs('2026-11-24T16:13:00Z');

  it('finds the first boot line of the enclave', () => {
    expect(findLaunchLine(capture)).toBe(1);
    expect(findLaunchLine(['Setting up pisces instance on CPU 3 (APIC ID 6)'])).toBe(0);
    expect(findLaunchLine(['no boot here', 'nor here'])).toBe(0);
  });

  it('puts the launch line at the launch time and keeps the order of the others around it', () => {
    const clock = new ReplayClock(launch, findLaunchLine(capture));
    const { events } = new LogParser({ source: 'kitten', stamp: () => clock.next() }).parseAll(capture);
    expect(events.map((e) => e.ts - launch)).toEqual([-1n, 0n, 1n, 2n]);
    expect(events[1]!.kind).toBe('boot');
  });

  it('never gives a negative time', () => {
    const clock = new ReplayClock(0n, 3);
    expect([clock.next(), clock.next(), clock.next(), clock.next()]).toEqual([0n, 0n, 0n, 0n]);
  });
});
