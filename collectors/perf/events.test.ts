import { describe, expect, it } from 'vitest';
import { encodeAttr, GROUP_READ_FORMAT, PERF_ATTR_SIZE, PERF_TYPE } from './attr.js';
import { describeOpenError, errnoName } from './errno.js';
import { parseEventName } from './events.js';

const configOf = (name: string) => (parseEventName(name) as { config: bigint }).config;

describe('parseEventName', () => {
  it('knows the generic hardware and software events, under their aliases too', () => {
    expect(parseEventName('cycles')).toMatchObject({ kind: 'hardware', type: PERF_TYPE.hardware, config: 0n, name: 'cycles' });
    expect(parseEventName('cpu-cycles')).toMatchObject({ kind: 'hardware', config: 0n, name: 'cycles' });
    expect(parseEventName('branches')).toMatchObject({ config: 4n, name: 'branch-instructions' });
    expect(configOf('stalled-cycles-backend')).toBe(8n);
    expect(configOf('ref-cycles')).toBe(9n);
    expect(parseEventName('task-clock')).toMatchObject({ kind: 'software', type: PERF_TYPE.software, config: 1n });
    expect(parseEventName('cs')).toMatchObject({ kind: 'software', config: 3n, name: 'context-switches' });
    expect(configOf('major-faults')).toBe(6n);
    expect(configOf('emulation-faults')).toBe(8n);
  });

  it('encodes hardware cache events as id | op << 8 | result << 16', () => {
    expect(parseEventName('LLC-load-misses')).toMatchObject({ kind: 'cache', type: PERF_TYPE.hwCache, config: 0x10002n });
    expect(configOf('L1-dcache-load-misses')).toBe(0x10000n);
    expect(configOf('L1-dcache-loads')).toBe(0x0n);
    expect(configOf('dTLB-load-misses')).toBe(0x10003n);
    expect(configOf('iTLB-loads')).toBe(0x4n);
    expect(configOf('LLC-store-misses')).toBe(0x10102n);
    expect(configOf('L1-dcache-prefetches')).toBe(0x200n);
    expect(configOf('dTLB-stores')).toBe(0x103n);
    expect(configOf('L1-icache-prefetch-misses')).toBe(0x10201n);
    expect(configOf('node-load-misses')).toBe(0x10006n);
  });

  it('reads tracepoints, raw events and PMU events', () => {
    expect(parseEventName('sched:sched_switch')).toEqual({ kind: 'tracepoint', name: 'sched:sched_switch', subsystem: 'sched', event: 'sched_switch' });
    expect(parseEventName('r1a8')).toEqual({ kind: 'raw', name: 'r1a8', config: 0x1a8n });
    expect(parseEventName('cpu/event=0x3c,umask=0x00,edge/')).toEqual({
      kind: 'pmu', name: 'cpu/event=0x3c,umask=0x00,edge/', pmu: 'cpu', terms: [{ term: 'event', value: 0x3cn }, { term: 'umask', value: 0n }, { term: 'edge' }],
    });
    expect(parseEventName('msr/tsc/')).toMatchObject({ kind: 'pmu', pmu: 'msr', terms: [{ term: 'tsc' }] });
  });

  it('takes user/kernel modifiers on named, raw and PMU events', () => {
    expect(parseEventName('cycles:u')).toMatchObject({ name: 'cycles:u', modifiers: { user: true, kernel: false } });
    expect(parseEventName('cs:k')).toMatchObject({ name: 'context-switches:k', modifiers: { user: false, kernel: true } });
    expect(parseEventName('r3c:uk')).toMatchObject({ kind: 'raw', modifiers: { user: true, kernel: true } });
    expect(parseEventName('cpu/event=0x3c/u')).toMatchObject({ kind: 'pmu', modifiers: { user: true, kernel: false } });
  });

  it('refuses what is no event name, saying which forms are accepted', () => {
    expect(() => parseEventName('cycels')).toThrow(/"cycels" is not an event name.*tracepoint "subsystem:name"/);
    expect(() => parseEventName('r12345678901234567')).toThrow(/not an event name/);
    expect(() => parseEventName('cpu//')).toThrow(/no terms between the slashes/);
    expect(() => parseEventName('cpu/event=zz/')).toThrow(/"event=zz" is not a term/);
  });
});

describe('encodeAttr', () => {
  it('lays out type, size, config, read_format, flags and config1/2 where the kernel expects them', () => {
    const b = encodeAttr({ type: PERF_TYPE.raw, config: 0x1a8n, config1: 3n, config2: 5n, disabled: true, excludeKernel: true, excludeHv: true });
    expect(b.length).toBe(PERF_ATTR_SIZE);
    expect(b.readUInt32LE(0)).toBe(4);
    expect(b.readUInt32LE(4)).toBe(128);
    expect(b.readBigUInt64LE(8)).toBe(0x1a8n);
    expect(b.readBigUInt64LE(32)).toBe(GROUP_READ_FORMAT);
    expect(GROUP_READ_FORMAT).toBe(0xfn);
    expect(b.readBigUInt64LE(40)).toBe(0b1100001n); // disabled, exclude_kernel (bit 5), exclude_hv (bit 6)
    expect(b.readBigUInt64LE(56)).toBe(3n);
    expect(b.readBigUInt64LE(64)).toBe(5n);
    expect(b.subarray(72).every((x) => x === 0)).toBe(true);
  });
});

describe('describeOpenError', () => {
  it('explains a missing hardware counter in words', () => {
    expect(describeOpenError({ kind: 'hardware', name: 'cycles' }, 95)).toBe(
      'cycles: not supported on this machine (EOPNOTSUPP: the PMU has no such counter; hardware counters are often unavailable in VMs)',
    );
    expect(describeOpenError({ kind: 'cache', name: 'LLC-load-misses' }, 2)).toMatch(/^LLC-load-misses: not supported on this machine \(ENOENT/);
  });

  it('distinguishes a software event the kernel lacks, and permission problems with the paranoid level', () => {
    expect(describeOpenError({ kind: 'software', name: 'cgroup-switches' }, 2)).toMatch(/not supported by this kernel \(ENOENT/);
    expect(describeOpenError({ kind: 'tracepoint', name: 'sched:sched_switch' }, 13, 2)).toMatch(/permission denied \(EACCES: .*perf_event_paranoid is 2\)/);
    expect(describeOpenError({ kind: 'software', name: 'x' }, 24)).toMatch(/EMFILE/);
    expect(describeOpenError({ kind: 'software', name: 'x' }, 4095)).toBe('x: failed (errno 4095)');
    expect(errnoName(22)).toBe('EINVAL');
  });
});
