import { describe, expect, it } from 'vitest';
import { byRaw, fixtureLines, validEvents } from '../testing.js';
import { parseKitten } from './parse.js';

const TS = 1_795_537_485_000_000_000n;
const parse = (name: string) => parseKitten(fixtureLines(import.meta.url, name), { ts: TS });

describe('parseKitten on a full console capture (with [N]: prefixes and <N> levels)', () => {
  const events = parse('full.log');

  it('gives one valid event per line, each keeping its raw line and the caller stamp', () => {
    const lines = fixtureLines(import.meta.url, 'full.log');
    expect(events).toHaveLength(lines.length);
    validEvents(events);
    events.forEach((e, i) => {
      expect(e.raw).toBe(lines[i]);
      expect(e.ts).toBe(TS);
    });
  });

  it('reads boot, enclave boot and CPU hot-plug with their numbers', () => {
    expect(byRaw(events, 'LWK version')).toMatchObject({ source: 'kitten', kind: 'boot', fields: { cpu: 0 } });
    expect(byRaw(events, 'Number of CPUs')).toMatchObject({ kind: 'boot', level: 'info', fields: { cores: 1 } });
    expect(byRaw(events, 'Setting up pisces')).toMatchObject({ kind: 'enclave_boot', pcore: 12, fields: { apic: 24 } });
    expect(byRaw(events, 'Adding CPU phys_id 13')).toMatchObject({ kind: 'core_add', pcore: 13, fields: { task: 'init_task', apic: 26 } });
    expect(byRaw(events, 'Booting Physical CPU')).toMatchObject({ kind: 'core_add', level: 'debug', pcore: 13, fields: { cpu: 1, apic: 26 } });
    expect(byRaw(events, 'is now online')).toMatchObject({ kind: 'core_online', fields: { cpu: 1 } });
    expect(byRaw(events, 'is now offline')).toMatchObject({ kind: 'core_offline', pcore: 13, fields: { cpu: 1, apic: 26 } });
    expect(byRaw(events, 'Removing CPU phys_id')).toMatchObject({ kind: 'core_remove', pcore: 13 });
  });

  it('reads memory, init task output and faults', () => {
    expect(byRaw(events, 'Adding pmem')).toMatchObject({ kind: 'mem_add', fields: { bytes: 134_217_728, task: 'init_task' } });
    expect(byRaw(events, 'pmem_add returned')).toMatchObject({ kind: 'app_output', message: 'pmem_add returned 0', fields: { task: 'init_task' } });
    expect(byRaw(events, 'Copy:')).toMatchObject({ kind: 'app_output', fields: { task: 'stream' } });
    expect(byRaw(events, 'Error> pisces_ctrl.c')).toMatchObject({ kind: 'error', level: 'error', fields: { file: 'pisces_ctrl.c', line: 104 } });
    expect(byRaw(events, 'SYS_MMAP')).toMatchObject({ kind: 'mmap_enomem', fields: { task: 'hpcg', bytes: 4_294_967_296 } });
    expect(byRaw(events, 'not implemented')).toMatchObject({ kind: 'syscall_unimplemented', fields: { task: 'hpcg', syscall: 302 } });
    expect(byRaw(events, 'PAGE FAULT')).toMatchObject({ kind: 'page_fault', level: 'error', fields: { cpu: 1, value: '0x0000000000000008' } });
    expect(byRaw(events, 'Kernel panic')).toMatchObject({ kind: 'panic', level: 'critical' });
  });

  it('hands Palacios lines printed through Kitten to the Palacios parser, keeping the Kitten CPU', () => {
    expect(byRaw(events, 'Created VM (id=0)')).toMatchObject({ source: 'palacios', kind: 'vm_create', fields: { vm_id: 0, task: 'init_task', cpu: 0 } });
    expect(byRaw(events, '(init_task) Created VM (0)')).toMatchObject({ source: 'kitten', kind: 'vm_create', fields: { vm_id: 0 } });
    expect(byRaw(events, 'Starting VM (1 cores)')).toMatchObject({ source: 'palacios', kind: 'vm_launch', fields: { cores: 1, cpu: 0 } });
    expect(byRaw(events, 'Starting Palacios VM')).toMatchObject({ source: 'palacios', kind: 'vm_launch', fields: { vm_id: 0 } });
    expect(byRaw(events, 'Starting VMX core 0')).toMatchObject({ source: 'palacios', kind: 'vcore_start', vm: 'vm0', vcore: 0, pcore: 1, fields: { cpu: 1 } });
    expect(byRaw(events, 'vm.c(88)')).toMatchObject({ source: 'palacios', kind: 'error', level: 'error', fields: { file: 'vm.c', line: 88 } });
  });
});

describe('parseKitten on a partial capture (no CPU prefix, cut at both ends)', () => {
  const events = parse('partial.log');

  it('reads the lines without [N]: and keeps the cut lines as they are', () => {
    validEvents(events);
    expect(events[0]).toMatchObject({ kind: 'unparsed', source: 'kitten', raw: 'w statement to fix a Kitten page fault bug' });
    expect(byRaw(events, 'Number of CPUs')).toMatchObject({ kind: 'boot', fields: { cores: 4 } });
    expect(byRaw(events, 'Number of CPUs').fields).not.toHaveProperty('cpu');
    expect(byRaw(events, 'Adding pmem')).toMatchObject({ kind: 'mem_add', fields: { bytes: 1_073_741_824 } });
    expect(events.at(-1)).toMatchObject({ kind: 'app_output', message: 'rank 0 of 8: startin', fields: { task: 'app' } });
  });
});

describe('parseKitten on invalid input', () => {
  it('never fails: junk becomes unparsed, out-of-range numbers are dropped, raw stays', () => {
    const lines = fixtureLines(import.meta.url, 'invalid.log');
    const events = parse('invalid.log');
    validEvents(events);
    expect(events.map((e) => e.raw)).toEqual(lines);
    expect(byRaw(events, 'Logical CPU 9999')).toMatchObject({ kind: 'core_online' });
    expect(byRaw(events, 'Logical CPU 9999').fields).toEqual({});
    expect(byRaw(events, '0xZZ')).toMatchObject({ kind: 'app_output' });
    expect(byRaw(events, 'binary junk')).toMatchObject({ kind: 'unparsed', source: 'kitten' });
  });
});
