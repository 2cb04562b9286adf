import { describe, expect, it } from 'vitest';
import { byRaw, fixtureLines, validEvents } from '../testing.js';
import { parseLinux } from './parse.js';

const BOOT = 1_795_537_000_000_000_000n;
const STAMP = 1_795_537_999_000_000_000n;
const parse = (name: string) => parseLinux(fixtureLines(import.meta.url, name), { ts: STAMP, bootTimeNs: BOOT });

describe('parseLinux, dmesg text', () => {
  const events = parse('dmesg-full.log');

  it('maps [ s.us] since boot to wall time through the boot time', () => {
    validEvents(events);
    expect(byRaw(events, 'Enclave created').ts).toBe(BOOT + 812_004_117_000n);
    expect(byRaw(events, 'Linux version').ts).toBe(BOOT);
  });

  it('hands Palacios and Pisces lines inside the log to their parsers', () => {
    expect(byRaw(events, 'Enclave created')).toMatchObject({ source: 'pisces', kind: 'enclave_create', fields: { enclave: 0 } });
    expect(byRaw(events, 'Creating V3 Guest')).toMatchObject({ source: 'palacios', kind: 'vm_create_request', pcore: 3 });
    expect(byRaw(events, 'Starting VM (2 cores)')).toMatchObject({ source: 'palacios', kind: 'vm_launch', vm: 'guest0', fields: { cores: 2 } });
    expect(byRaw(events, 'launching vm')).toMatchObject({ source: 'palacios', kind: 'vm_launch', fields: { task: 'v3_launch', cpu: 3 } });
    expect(byRaw(events, 'Starting VMX core 1')).toMatchObject({ source: 'palacios', vm: 'guest0', vcore: 1, pcore: 5 });
  });

  it('reads boot, init, CPU hot-plug and panics; other kernel lines stay linux/unparsed', () => {
    expect(byRaw(events, 'Linux version')).toMatchObject({ source: 'linux', kind: 'boot' });
    expect(byRaw(events, 'Run /sbin/init')).toMatchObject({ kind: 'init_start', fields: { task: '/sbin/init' } });
    expect(byRaw(events, 'CPU 12 is now offline')).toMatchObject({ kind: 'core_offline', fields: { cpu: 12 } });
    expect(byRaw(events, 'Booting Node 0 Processor 12')).toMatchObject({ kind: 'core_online', fields: { node: 0, cpu: 12, apic: 24 } });
    expect(byRaw(events, 'Kernel panic')).toMatchObject({ kind: 'panic', level: 'critical' });
    expect(byRaw(events, 'e1000e')).toMatchObject({ source: 'linux', kind: 'unparsed', message: expect.stringMatching(/^e1000e: eth0/) });
  });

  it('stamps boot-relative lines with the caller stamp when no boot time is known', () => {
    const events = parseLinux(fixtureLines(import.meta.url, 'dmesg-full.log'), { ts: STAMP });
    expect(events.every((e) => e.ts === STAMP)).toBe(true);
  });
});

describe('parseLinux, /dev/kmsg records', () => {
  const events = parse('kmsg-full.log');

  it('maps usec since boot, takes the level from the record prefix and unescapes \\xNN', () => {
    validEvents(events);
    expect(byRaw(events, '412,812004117')).toMatchObject({ source: 'pisces', kind: 'enclave_create', ts: BOOT + 812_004_117_000n });
    expect(byRaw(events, 'Linux version')).toMatchObject({ kind: 'boot', level: 'notice' });
    expect(byRaw(events, 'Launch Pisces Enclave')).toMatchObject({ level: 'debug' });
    expect(byRaw(events, 'WARNING: CPU')).toMatchObject({ kind: 'warning', level: 'warning' });
    expect(byRaw(events, 'Hardware Unit Hang')).toMatchObject({ kind: 'error', level: 'error', message: 'e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang' });
    expect(byRaw(events, 'tab escape')).toMatchObject({ message: 'message with \ttab escape' });
    expect(byRaw(events, '0,904,')).toMatchObject({ kind: 'panic', level: 'critical' });
    expect(byRaw(events, 'Too many VMs')).toMatchObject({ source: 'palacios', kind: 'error', fields: { file: 'main.c', line: 147 } });
  });
});

describe('parseLinux on partial and invalid input', () => {
  it('keeps cut lines unparsed and never produces a timestamp outside the schema range', () => {
    const partial = parse('partial.log');
    validEvents(partial);
    expect(partial.map((e) => e.kind)).toEqual(['unparsed', 'vm_create_request', 'unparsed']);
    const invalid = parse('invalid.log');
    validEvents(invalid);
    expect(invalid.map((e) => e.raw)).toEqual(fixtureLines(import.meta.url, 'invalid.log'));
    expect(byRaw(invalid, 'usec overflow')).toMatchObject({ source: 'linux', ts: STAMP });
    expect(byRaw(invalid, '[abc]')).toMatchObject({ kind: 'unparsed', source: 'linux', ts: STAMP });
  });
});
