import { describe, expect, it } from 'vitest';
import { telemetrySamples } from '../telemetry.js';
import { byRaw, fixtureLines, validEvents, validSamples } from '../testing.js';
import { parsePalacios } from './parse.js';

const TS = 1_795_537_485_000_000_000n;
const parse = (name: string) => parsePalacios(fixtureLines(import.meta.url, name), { ts: TS });

describe('parsePalacios, Hobbes-era prefixes (V3> [VM-V.P], V3> (CPU), V3-lwk>, V3-lnx>)', () => {
  const events = parse('hobbes.log');

  it('gives one valid Palacios event per line with its raw line', () => {
    const lines = fixtureLines(import.meta.url, 'hobbes.log');
    validEvents(events);
    expect(events.map((e) => e.raw)).toEqual(lines);
    expect(events.every((e) => e.source === 'palacios')).toBe(true);
  });

  it('takes vm, vcore and pcore from the prefix, anchoring on the last -N.N] of a VM name with dashes and dots', () => {
    expect(byRaw(events, 'Starting VMX core 0')).toMatchObject({ kind: 'vcore_start', vm: 'vm0', vcore: 0, pcore: 1 });
    expect(byRaw(events, 'Core Migrated')).toMatchObject({ kind: 'vcore_migrate', vm: 'my-vm-2.0', vcore: 0, pcore: 3 });
    expect(byRaw(events, 'Adding CPU 1')).toMatchObject({ kind: 'core_add', pcore: 1, fields: { cpu: 0 } });
    expect(byRaw(events, 'Starting VM (1 cores)')).toMatchObject({ kind: 'vm_launch', fields: { cores: 1, cpu: 0 } });
    expect(byRaw(events, 'Created VM (id=0)')).toMatchObject({ kind: 'vm_create', fields: { vm_id: 0, task: 'init_task', cpu: 0 } });
  });

  it('reads the VM lifecycle from the host glue', () => {
    expect(byRaw(events, 'Pausing VM')).toMatchObject({ kind: 'vm_pause', vm: 'vm0', fields: { task: 'v3_launch', cpu: 2 } });
    expect(byRaw(events, 'Continuing VM')).toMatchObject({ kind: 'vm_continue', vm: 'vm0' });
    expect(byRaw(events, 'moving guest')).toMatchObject({ kind: 'vcore_migrate', vm: 'vm0', vcore: 0, pcore: 3 });
    expect(byRaw(events, 'Stopping VM')).toMatchObject({ kind: 'vm_stop_request', vm: 'vm0' });
    expect(byRaw(events, 'VM stopped')).toMatchObject({ kind: 'vm_stopped' });
    expect(byRaw(events, 'Freeing VM')).toMatchObject({ kind: 'vm_free', vm: 'vm0' });
  });

  it('reads the error forms (file.c(LINE): after the prefix) and fatal exits', () => {
    expect(byRaw(events, 'main.c(168)')).toMatchObject({ kind: 'error', level: 'error', message: 'Error adding memory to Palacios', fields: { file: 'main.c', line: 168, task: 'v3_mem' } });
    expect(byRaw(events, 'vmm_mem.c(231)')).toMatchObject({ kind: 'error', fields: { file: 'vmm_mem.c', line: 231, cpu: 1 } });
    expect(byRaw(events, 'Unhandled VMX_EXIT')).toMatchObject({ kind: 'exit_unhandled', level: 'critical', vm: 'vm0', fields: { exit: 'VMX_EXIT_TRIPLE_FAULT', value: 2, file: 'vmx_handler.c' } });
    expect(byRaw(events, 'VM Entry failed')).toMatchObject({ kind: 'vm_error', level: 'critical', vcore: 0 });
  });

  it('parses a telemetry dump as a unit: the Event Counters lines get the dump number and vcore of their block', () => {
    expect(byRaw(events, 'telemetry tsc=')).toMatchObject({ kind: 'telemetry_window', vm: 'vm0', vcore: 0, pcore: 1, fields: { seq: 4, window_cycles: 2_310_456_789, value: '912345678901' } });
    expect(byRaw(events, 'Time Breakdown')).toMatchObject({ kind: 'telemetry_time_split', fields: { seq: 4, host_cycles: 812_345_678, guest_cycles: 1_498_111_111 } });
    expect(byRaw(events, 'VMX_EXIT_IO_INSTR')).toMatchObject({ kind: 'exit_stats', vm: 'vm0', vcore: 0, pcore: 1, fields: { seq: 4, exit: 'VMX_EXIT_IO_INSTR', count: 31_245, avg_cycles: 5821 } });
    expect(byRaw(events, 'VMX_EXIT_HLT')).toMatchObject({ kind: 'exit_stats', fields: { count: 42, avg_cycles: 120_453 } });
    expect(byRaw(events, 'CORE_SCHED_IN')).toMatchObject({ kind: 'event_counter', vcore: 0, fields: { seq: 4, counter: 'CORE_SCHED_IN', value: 1042 } });
    expect(byRaw(events, 'FPU_DEACTIVATE')).toMatchObject({ kind: 'event_counter', fields: { counter: 'FPU_DEACTIVATE', value: 7 } });
    expect(byRaw(events, 'Exit Count=')).toMatchObject({ kind: 'section', level: 'debug', fields: { count: 250_000 } });
    expect(byRaw(events, 'Telemetry done')).toMatchObject({ kind: 'telemetry_end', fields: { seq: 4 } });
    const dump = events.slice(8, 26);
    expect(dump.map((e) => e.kind)).not.toContain('unparsed');
    expect(dump.every((e) => e.fields && (e.fields as { seq?: number }).seq === 4)).toBe(true);
  });

  it('turns telemetry into samples labelled cpu=pcore, comm=<vm>-<vcore>, device=exit or counter', () => {
    const samples = validSamples(events.flatMap(telemetrySamples));
    expect(samples).toContainEqual(expect.objectContaining({ metric: 'palacios.exit_count', value: 31_245, cpu: 1, comm: 'vm0-0', device: 'VMX_EXIT_IO_INSTR', source: 'palacios', ts: TS }));
    expect(samples).toContainEqual(expect.objectContaining({ metric: 'palacios.exit_avg_cycles', value: 5821, device: 'VMX_EXIT_IO_INSTR' }));
    expect(samples).toContainEqual(expect.objectContaining({ metric: 'palacios.event_count', value: 1042, device: 'CORE_SCHED_IN' }));
    expect(samples).toContainEqual(expect.objectContaining({ metric: 'palacios.guest_cycles', value: 1_498_111_111 }));
    expect(samples).toContainEqual(expect.objectContaining({ metric: 'palacios.exit_total', value: 250_000 }));
    expect(samples.filter((s) => s.metric === 'palacios.exit_count')).toHaveLength(3);
  });
});

describe('parsePalacios, upstream V3VEE in a Linux host (palacios (pcore P vm NAME vcore V): …)', () => {
  const events = parse('upstream.log');

  it('reads the three prefix depths, lifecycle, memory and the upstream telemetry with PMU lines', () => {
    validEvents(events);
    expect(byRaw(events, 'Memory Add Request')).toMatchObject({ kind: 'mem_add', pcore: 3, fields: { node: 0, pages: 262_144, bytes: 1_073_741_824 } });
    expect(byRaw(events, 'Creating V3 Guest')).toMatchObject({ kind: 'vm_create_request', pcore: 3 });
    expect(byRaw(events, 'Starting VM (2 cores)')).toMatchObject({ kind: 'vm_launch', vm: 'guest0', pcore: 3, fields: { cores: 2 } });
    expect(byRaw(events, 'vm created at')).toMatchObject({ kind: 'vm_create', fields: { vm_id: 0 } });
    expect(byRaw(events, 'Starting VMX core 1')).toMatchObject({ kind: 'vcore_start', vm: 'guest0', vcore: 1, pcore: 5 });
    expect(byRaw(events, 'window tsc cnt')).toMatchObject({ kind: 'telemetry_window', fields: { seq: 0, window_cycles: 1_234_567_890 } });
    expect(byRaw(events, 'SVM_EXIT_IOIO')).toMatchObject({ kind: 'exit_stats', vm: 'guest0', vcore: 0, pcore: 4, fields: { count: 518, avg_cycles: 4410 } });
    expect(byRaw(events, 'Guest Page faults')).toMatchObject({ kind: 'event_counter', fields: { counter: 'Guest Page faults', value: 3391 } });
    expect(byRaw(events, 'GUEST:0:4')).toMatchObject({ kind: 'pmu_counter', vcore: 0, pcore: 4, fields: { counter: 'guest:V3_PMON_CLOCK_COUNT', value: 981_273_645 } });
    expect(byRaw(events, 'ERROR at svm_handler.c')).toMatchObject({ kind: 'exit_unhandled', level: 'critical', fields: { exit: 'SVM_EXIT_SHUTDOWN', file: 'svm_handler.c', line: 289 } });
    expect(byRaw(events, 'main.c(147)')).toMatchObject({ kind: 'error', pcore: 3, message: 'Palacios Error: Too many VMs are currently running' });
    const pmu = telemetrySamples(byRaw(events, 'HOST:0:4'));
    expect(pmu).toEqual([expect.objectContaining({ metric: 'palacios.pmu_host', device: 'V3_PMON_RETIRED_INST_COUNT', value: 12_345_678, cpu: 4, comm: 'guest0-0' })]);
  });
});

describe('parsePalacios on partial and invalid captures', () => {
  it('reads a counter line before its block started as a counter of unknown dump, and after it with the dump\'s number', () => {
    const events = parse('partial.log');
    validEvents(events);
    expect(events[0]).toMatchObject({ kind: 'event_counter', vm: 'vm0', vcore: 0, pcore: 1, fields: { counter: 'CORE_SCHED_IN', value: 1042 } });
    expect((events[0]!.fields as { seq?: number }).seq).toBeUndefined();
    expect(telemetrySamples(events[0]!)).toEqual([expect.objectContaining({ metric: 'palacios.event_count', value: 1042, device: 'CORE_SCHED_IN', cpu: 1, comm: 'vm0-0' })]);
    expect(byRaw(events, 'Exit Count=')).toMatchObject({ kind: 'section' });
    expect(byRaw(events, 'CORE_SCHED_IN: 2004')).toMatchObject({ kind: 'event_counter', fields: { seq: 5, value: 2004 } });
    expect(events.at(-1)).toMatchObject({ kind: 'unparsed', message: '\tFPU_DEA' });
  });

  it('never fails on broken prefixes and numbers; values beyond 2^53 stay exact as strings', () => {
    const lines = fixtureLines(import.meta.url, 'invalid.log');
    const events = parse('invalid.log');
    validEvents(events);
    expect(events.map((e) => e.raw)).toEqual(lines);
    expect(byRaw(events, 'pcore too big')).toMatchObject({ vm: 'vm0', vcore: 0, pcore: null });
    expect(byRaw(events, 'Cnt=9999')).toMatchObject({ kind: 'exit_stats', fields: { count: '999999999999999999999999' } });
    expect(byRaw(events, 'NOT_IN_A_BLOCK')).toMatchObject({ kind: 'event_counter', fields: { counter: 'NOT_IN_A_BLOCK', value: 5 } });
    expect(byRaw(events, 'V3> (abc)')).toMatchObject({ kind: 'unparsed', source: 'palacios' });
  });
});
