/**
 * Real-kernel tests of the shipped programs irq and biolatency (sched_switch, runqlat and pagefault
 * are covered by ebpf.test.ts). They skip only where libbpf, root or BTF is missing.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { skipForMissingCapability } from '../perf/kernel-gate.js';
import { ebpfConfigSchema, SHIPPED_PROGRAMS } from './config.js';
import { EbpfSource } from './ebpf.js';
import { bpfCapability } from './kernel-gate.js';
import type { SourceSample } from '../source.js';

const capability = bpfCapability();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const SOFTIRQ_NAMES = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'];
/** statfs f_type of file systems that keep their data in memory, so writes reach no block device. */
const MEMORY_FS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

/** A folder on a real block device: os.tmpdir() unless that is in memory, else /var/tmp, else the repo's folder. */
function diskBackedTmp(): string {
  for (const base of [tmpdir(), '/var/tmp', process.cwd()]) {
    try {
      if (!MEMORY_FS.has(Number(statfsSync(base).type))) return mkdtempSync(join(base, 'isoscope-biolatency-'));
    } catch {
      // not there or not writable: try the next
    }
  }
  throw new Error(`None of ${tmpdir()}, /var/tmp and ${process.cwd()} is on a block device`);
}

/** Writes `mib` MiB of random bytes to a new file in dir and waits for them to reach the device. */
function writeAndSync(dir: string, mib: number): void {
  const fd = openSync(join(dir, 'data'), 'w');
  try {
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < mib; i++) writeSync(fd, chunk);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function partitionNames(): Set<string> {
  return new Set(
    readFileSync('/proc/partitions', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 4 && /^\d+$/.test(f[0]!))
      .map((f) => f[3]!),
  );
}

describe('shipped eBPF programs', () => {
  it('lists irq and biolatency among the shipped programs', () => {
    expect(SHIPPED_PROGRAMS).toContain('irq');
    expect(SHIPPED_PROGRAMS).toContain('biolatency');
  });
});

describe('irq on the real kernel', () => {
  it('counts nanoseconds in softirqs (TIMER included) and hard IRQ handlers per CPU over 2 s, names decoded', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const source = new EbpfSource(ebpfConfigSchema.parse({ programs: ['irq'] }));
    await source.start();
    const dir = diskBackedTmp();
    try {
      expect(source.metricNames).toEqual(['hardirq_nanoseconds_total', 'softirq_nanoseconds_total']);
      await source.read(); // the window opens …
      const t0 = process.hrtime.bigint();
      writeAndSync(dir, 4); // disk I/O, so the block device's hard IRQ fires
      await sleep(2000);
      const samples = await source.read(); // … and closes
      const windowNs = Number(process.hrtime.bigint() - t0);
      const soft = samples.filter((s) => s.metric === 'softirq_nanoseconds_total');
      const hard = samples.filter((s) => s.metric === 'hardirq_nanoseconds_total');
      const summary = (xs: SourceSample[]) => xs.map((s) => `cpu${s.cpu} ${s.irq} ${(s.value / 1e6).toFixed(3)} ms`).join(', ');
      process.stderr.write(`irq over ${(windowNs / 1e9).toFixed(2)} s: softirq ${summary(soft)}; hardirq ${summary(hard)}\n`);
      expect(samples.every((s) => Number.isInteger(s.cpu) && s.cpu! >= 0 && typeof s.irq === 'string' && s.irq.length > 0 && s.value > 0)).toBe(true);
      expect(soft.length).toBeGreaterThan(0);
      expect(soft.every((s) => SOFTIRQ_NAMES.includes(s.irq!))).toBe(true);
      expect(soft.some((s) => s.irq === 'TIMER' && s.value > 0)).toBe(true);
      expect(hard.length).toBeGreaterThan(0);
      expect(hard.every((s) => !s.irq!.includes('\0'))).toBe(true);
      // Time in IRQs on one CPU cannot exceed the window (softirq and hardirq each; a hard IRQ inside a softirq counts in both).
      for (const xs of [soft, hard]) {
        const perCpu = new Map<number, number>();
        for (const s of xs) perCpu.set(s.cpu!, (perCpu.get(s.cpu!) ?? 0) + s.value);
        for (const ns of perCpu.values()) expect(ns).toBeLessThan(windowNs);
      }
    } finally {
      await source.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('biolatency on the real kernel', () => {
  it('reports block I/O latency of a 16 MiB write + fdatasync as cumulative le buckets per real device, +Inf last', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const source = new EbpfSource(ebpfConfigSchema.parse({ programs: ['biolatency'] }));
    await source.start();
    const dir = diskBackedTmp();
    try {
      await source.read(); // the window opens …
      writeAndSync(dir, 16);
      await sleep(200);
      const samples = await source.read(); // … and closes
      const buckets = samples.filter((s) => s.metric === 'bio_latency_seconds');
      const sums = samples.filter((s) => s.metric === 'bio_latency_seconds_sum');
      const byDevice = new Map<string, SourceSample[]>();
      for (const s of buckets) byDevice.set(s.device!, [...(byDevice.get(s.device!) ?? []), s]);
      process.stderr.write(
        `biolatency of 16 MiB in ${dir}: ${[...byDevice].map(([d, xs]) => `${d} ${xs[xs.length - 1]!.value} requests`).join(', ')}; sums ${sums.map((s) => `${s.device} ${s.value.toFixed(6)} s`).join(', ')}\n`,
      );
      expect(byDevice.size).toBeGreaterThan(0);
      const real = partitionNames();
      for (const [device, series] of byDevice) {
        expect(real.has(device), `device ${device} is in /proc/partitions (${[...real].join(', ')})`).toBe(true);
        expect(series).toHaveLength(28); // 2^0 … 2^26 µs, then +Inf
        expect(series[0]!.le).toBe('0.000001');
        expect(series[series.length - 1]!.le).toBe('+Inf');
        for (let i = 1; i < series.length; i++) expect(series[i]!.value).toBeGreaterThanOrEqual(series[i - 1]!.value);
        expect(series[series.length - 1]!.value).toBeGreaterThan(0);
      }
      expect(sums.some((s) => s.value > 0 && real.has(s.device!))).toBe(true);
    } finally {
      await source.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
