import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { procfsConfigSchema } from './config.js';
import { interruptDeltas } from './interrupts.js';
import { parseInterrupts } from './parse-interrupts.js';
import { ProcfsSource } from './procfs.js';

const read = (name: string) => parseInterrupts(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));

describe('parseInterrupts', () => {
  it('reads numbered and named rows of an x86 file, labelling numbered IRQs with their action', () => {
    const i = read('interrupts-2cpu-a.txt');
    expect(i.cpus).toEqual([0, 1]);
    expect(i.skipped).toBe(0);
    expect(i.rows.find((r) => r.id === '36')).toEqual({ id: '36', label: '36:virtio1-req.0', counts: [0, 111778] });
    expect(i.rows.find((r) => r.id === '24')!.label).toBe('24:ACPI:Ged');
    expect(i.rows.find((r) => r.id === 'LOC')).toEqual({ id: 'LOC', label: 'LOC', counts: [2169646, 2095596] });
    expect(i.rows.find((r) => r.id === 'ERR')!.counts).toEqual([0]);
  });

  it('maps columns to the CPUs of the header when a CPU is offline (arm64 layout, shared IRQ)', () => {
    const i = read('interrupts-arm64-offline.txt');
    expect(i.cpus).toEqual([0, 2, 3]);
    expect(i.rows.find((r) => r.id === '11')!.label).toBe('11:arch_timer');
    expect(i.rows.find((r) => r.id === '47')!.label).toBe('47:nvme0q0, nvme1q0');
    expect(i.rows.find((r) => r.id === 'IPI0')!.counts).toEqual([12000, 11000, 10500]);
  });

  it('refuses text without the CPU header, saying what it expected', () => {
    expect(() => read('interrupts-invalid.txt')).toThrow(/expected a header of CPU columns/);
  });
});

describe('interruptDeltas', () => {
  const a = read('interrupts-2cpu-a.txt');
  const b = read('interrupts-2cpu-b.txt');

  it('reports only IRQ/CPU pairs whose count changed, with the delta', () => {
    const out = interruptDeltas(a, b, 100);
    expect(out).toContainEqual({ metric: 'irq.count', value: 122, cpu: 1, irq: '36:virtio1-req.0' });
    expect(out).toContainEqual({ metric: 'irq.count', value: 1000, cpu: 0, irq: 'LOC' });
    expect(out).toContainEqual({ metric: 'irq.count', value: 2, cpu: -1, irq: 'ERR' });
    expect(out.find((s) => s.irq === 'TLB' || s.irq === 'NMI' || s.irq === '24:ACPI:Ged')).toBeUndefined();
    expect(out).toHaveLength(8);
  });

  it('keeps the busiest pairs and sums the rest per CPU under "other", so per-CPU totals stay exact', () => {
    const full = interruptDeltas(a, b, 100);
    const bounded = interruptDeltas(a, b, 3);
    expect(bounded.filter((s) => s.irq !== 'other').map((s) => s.value)).toEqual([1000, 500, 122]);
    const total = (xs: typeof full, cpu: number) => xs.filter((s) => s.cpu === cpu).reduce((acc, s) => acc + s.value, 0);
    for (const cpu of [-1, 0, 1]) expect(total(bounded, cpu)).toBe(total(full, cpu));
    expect(bounded.length).toBeLessThanOrEqual(3 + 3);
  });

  it('skips counts that went backwards', () => {
    expect(interruptDeltas(b, a, 100)).toEqual([]);
  });
});

describe('interrupts on this machine', () => {
  it('reports changed IRQs per online CPU, labelled with rows of /proc/interrupts', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ meminfoPath: null, numaDir: null }));
    await source.start();
    await sleep(1000);
    const out = (await source.read()).filter((s) => s.metric === 'irq.count');
    await source.shutdown();
    const now = parseInterrupts(readFileSync('/proc/interrupts', 'utf8'));
    const labels = new Set([...now.rows.map((r) => r.label), 'other']);
    expect(out.length).toBeGreaterThan(0); // a second always has timer/IPI/device interrupts
    for (const s of out) {
      expect(labels.has(s.irq!)).toBe(true);
      expect(s.value).toBeGreaterThan(0);
      expect([-1, ...now.cpus]).toContain(s.cpu);
    }
    expect(out.length).toBeLessThanOrEqual(64 + now.cpus.length + 1);
  });
});
