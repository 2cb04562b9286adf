import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcStat } from './parse-stat.js';
import { ProcfsSource, statDeltas } from './procfs.js';
import { procfsConfigSchema } from './config.js';

const fixture = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;

describe('parseProcStat', () => {
  it('reads every CPU line and the node counters of a full file', () => {
    const s = parseProcStat(readFileSync(fixture('stat-2cpu.txt'), 'utf8'));
    expect([...s.cpus.keys()]).toEqual([-1, 0, 1]);
    expect(s.cpus.get(0)).toMatchObject({ user: 6158, system: 2289, idle: 65720, steal: 239, guest_nice: 0 });
    expect(s.ctxt).toBe(1760798);
    expect(s.intr).toBe(702821);
    expect(s.skipped).toBe(0);
  });

  it('accepts older kernels with fewer CPU columns', () => {
    const s = parseProcStat(readFileSync(fixture('stat-partial.txt'), 'utf8'));
    expect(s.cpus.get(1)).toEqual({ user: 40, nice: 0, system: 20, idle: 500 });
    expect(s.cpus.get(0)!.steal).toBeUndefined();
    expect(s.ctxt).toBe(12345);
  });

  it('skips and counts garbage instead of failing', () => {
    const s = parseProcStat(readFileSync(fixture('stat-invalid.txt'), 'utf8'));
    expect(s.cpus.size).toBe(0);
    expect(s.ctxt).toBeUndefined();
    expect(s.skipped).toBe(2);
  });
});

describe('statDeltas', () => {
  it('turns tick deltas into seconds per CPU and mode, and counter deltas', () => {
    const a = parseProcStat('cpu0 100 0 50 1000\nctxt 10\nprocs_running 3\n');
    const b = parseProcStat('cpu0 150 0 60 1100\nctxt 25\nprocs_running 2\n');
    const out = statDeltas(a, b, 100);
    expect(out).toContainEqual({ metric: 'cpu.user', value: 0.5, cpu: 0 });
    expect(out).toContainEqual({ metric: 'cpu.system', value: 0.1, cpu: 0 });
    expect(out).toContainEqual({ metric: 'cpu.idle', value: 1, cpu: 0 });
    expect(out).toContainEqual({ metric: 'context_switches', value: 15, cpu: -1 });
    expect(out).toContainEqual({ metric: 'procs_running', value: 2, cpu: -1 });
  });

  it('skips counters that went backwards (CPU unplugged and back)', () => {
    const out = statDeltas(parseProcStat('cpu0 100 0 50 1000\n'), parseProcStat('cpu0 5 0 60 1100\n'), 100);
    expect(out.find((s) => s.metric === 'cpu.user')).toBeUndefined();
    expect(out.find((s) => s.metric === 'cpu.system')).toBeDefined();
  });
});

describe('ProcfsSource on this machine', () => {
  it('reads the real /proc/stat: a sample per CPU and mode whose CPU seconds add up to the elapsed time', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({}));
    await source.start();
    expect(await source.read()).not.toHaveLength(0); // deltas from start() to now
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    const samples = await source.read();
    const elapsed = (Date.now() - t0) / 1000;
    const cpus = new Set(samples.filter((s) => s.cpu! >= 0).map((s) => s.cpu));
    expect(cpus.size).toBe(parseProcStat(readFileSync('/proc/stat', 'utf8')).cpus.size - 1);
    // Per CPU, user+nice+system+idle+iowait+irq+softirq+steal covers the wall time (tick granularity 10 ms).
    for (const cpu of cpus) {
      const total = samples.filter((s) => s.cpu === cpu && /^cpu\.(user|nice|system|idle|iowait|irq|softirq|steal)$/.test(s.metric)).reduce((a, s) => a + s.value, 0);
      expect(total).toBeGreaterThan(elapsed * 0.8);
      expect(total).toBeLessThan(elapsed * 1.2);
    }
    await source.shutdown();
  });

  it('fails at start when the stat file is missing, naming it', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ statPath: '/nonexistent/stat' }));
    await expect(source.start()).rejects.toThrow(/\/nonexistent\/stat/);
  });
});
