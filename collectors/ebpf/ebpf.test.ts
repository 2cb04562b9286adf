import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { perfConfigSchema } from '../perf/config.js';
import { perfCapability, skipForMissingCapability } from '../perf/kernel-gate.js';
import { PerfSource } from '../perf/perf.js';
import { ebpfConfigSchema } from './config.js';
import { EbpfSource } from './ebpf.js';
import { readMap } from './map-read.js';
import { defaultObjectDir } from './locate.js';
import type { MapEntry } from './metric-reader.js';
import type { BpfNative } from './native.js';
import { bpfCapability } from './kernel-gate.js';
import { findCgroup2Root } from './decoders.js';

const capability = bpfCapability();
const busy = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('ebpf source on the real kernel', () => {
  // The kernel's own count of context switches is rq->nr_switches, summed in /proc/stat `ctxt`;
  // perf's `context-switches` software event counts the same thing. (perf's sched:sched_switch
  // tracepoint count was measured ~20 % below both on this kernel, so it is not the reference.)
  it('counts context switches within 10 % of the kernel (/proc/stat ctxt) and perf context-switches over the same 3 s', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const perfCap = perfCapability();
    if (!perfCap.ok) skipForMissingCapability(ctx.skip, perfCap.why);
    const ebpf = new EbpfSource(ebpfConfigSchema.parse({ programs: ['sched_switch'] }));
    const perf = new PerfSource(perfConfigSchema.parse({ events: ['context-switches', 'sched:sched_switch'] }));
    const ctxt = () => Number(/^ctxt (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
    await ebpf.start();
    await perf.start();
    try {
      await Promise.all([ebpf.read(), perf.read()]); // the window opens …
      const k0 = ctxt();
      await busy(3000);
      const [ours, theirs] = await Promise.all([ebpf.read(), perf.read()]); // … and closes
      const kernel = ctxt() - k0;
      const e = ours.reduce((a, s) => a + s.value, 0);
      const sum = (metric: string) => theirs.filter((s) => s.metric === metric).reduce((a, s) => a + s.value, 0);
      const cs = sum('context-switches');
      process.stderr.write(`context switches over 3 s: ebpf ${e}, kernel ctxt ${kernel}, perf context-switches ${cs}, perf sched:sched_switch ${sum('sched:sched_switch')}\n`);
      expect(ours.every((s) => s.metric === 'sched_switches_total' && s.cpu! >= 0 && typeof s.cgroup === 'string')).toBe(true);
      expect(kernel).toBeGreaterThan(0);
      expect(Math.abs(e - kernel) / kernel).toBeLessThan(0.1);
      expect(Math.abs(e - cs) / cs).toBeLessThan(0.1);
      expect(new Set(ours.map((s) => s.cpu)).size).toBeGreaterThan(0);
    } finally {
      await ebpf.shutdown();
      await perf.shutdown();
    }
  });

  it('reads maps with BPF_MAP_LOOKUP_BATCH: the entries a key-by-key walk finds, in chunks and whole', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const native = capability.native;
    const obj = native.openObject(join(defaultObjectDir(), 'runqlat.bpf.o'));
    try {
      await busy(300);
      const map = obj.maps.find((m) => m.name === 'run_queue_latency_seconds')!;
      let batches = 0;
      const counting: BpfNative = { ...native, lookupBatch: (...a) => (batches++, native.lookupBatch(...a)) };
      const noBatch: BpfNative = { ...native, lookupBatch: () => null };
      const small = { ...map }; // a separate identity: its own, smaller chunks
      const sorted = (xs: MapEntry[]) => xs.map((e) => `${e.key.toString('hex')}=${e.value}`).sort();
      // Histogram counts only grow: a later walk holds at least every key of an earlier one.
      const walk = sorted(readMap(noBatch, { ...map })); // (a map refused once is walked from then on: its own identity)
      const whole = sorted(readMap(counting, map));
      expect(batches).toBeGreaterThan(0);
      expect(walk.length).toBeGreaterThan(0);
      expect(whole.length).toBeGreaterThanOrEqual(walk.length);
      small.maxEntries = 3; // chunks of 3 entries: the out_batch position carries the walk on
      batches = 0;
      const chunked = sorted(readMap(counting, small));
      expect(batches).toBeGreaterThan(1);
      expect(chunked.length).toBeGreaterThanOrEqual(whole.length);
      const keys = (xs: string[]) => new Set(xs.map((x) => x.split('=')[0]));
      for (const k of keys(walk)) expect(keys(chunked).has(k)).toBe(true);
    } finally {
      obj.close();
    }
  });

  it('reports run-queue latency as cumulative, non-decreasing le buckets per cgroup, +Inf last', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const source = new EbpfSource(ebpfConfigSchema.parse({ programs: ['runqlat', 'pagefault'] }));
    await source.start();
    try {
      await busy(1000);
      const t0 = process.hrtime.bigint();
      const samples = await source.read();
      const readMs = Number(process.hrtime.bigint() - t0) / 1e6;
      process.stderr.write(`ebpf read() of runqlat + pagefault: ${readMs.toFixed(2)} ms, ${samples.length} samples\n`);
      const buckets = samples.filter((s) => s.metric === 'run_queue_latency_seconds');
      expect(buckets.length).toBeGreaterThan(0);
      const byCgroup = new Map<string, typeof buckets>();
      for (const s of buckets) byCgroup.set(s.cgroup!, [...(byCgroup.get(s.cgroup!) ?? []), s]);
      for (const series of byCgroup.values()) {
        expect(series).toHaveLength(28); // 2^0 … 2^26 µs, then +Inf
        expect(series[series.length - 1]!.le).toBe('+Inf');
        expect(series[0]!.le).toBe('0.000001');
        for (let i = 1; i < series.length; i++) expect(series[i]!.value).toBeGreaterThanOrEqual(series[i - 1]!.value);
      }
      expect(samples.some((s) => s.metric === 'run_queue_latency_seconds_sum' && s.value > 0)).toBe(true);
      expect(samples.some((s) => s.metric === 'page_faults_total' && s.value > 0)).toBe(true);
    } finally {
      await source.shutdown();
    }
  });

  // The kernel's own account of the same thing: /proc/<pid>/schedstat's second field, the time the
  // task spent runnable on a run queue, added (as runqlat adds a latency) when it gets the CPU.
  it("measures run-queue latency as the kernel's schedstat run_delay of the same tasks (two busy loops sharing a CPU, in a cgroup)", async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const root = findCgroup2Root('/proc/self/mountinfo');
    if (root === null) return skipForMissingCapability(ctx.skip, 'no cgroup v2 hierarchy to put the busy loops in');
    const name = `isoscope-runqlat-${process.pid}`;
    const dir = join(root, name);
    mkdirSync(dir);
    const loops: ChildProcess[] = [];
    const source = new EbpfSource(ebpfConfigSchema.parse({ programs: ['runqlat'] }));
    try {
      for (let i = 0; i < 2; i++) {
        const c = spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
        loops.push(c);
        await new Promise((r) => c.once('spawn', r));
        writeFileSync(join(dir, 'cgroup.procs'), String(c.pid));
      }
      await source.start();
      await busy(300);
      const runDelayNs = () => loops.reduce((a, c) => a + Number(readFileSync(`/proc/${c.pid}/schedstat`, 'utf8').split(' ')[1]), 0);
      const sumSeconds = async () => (await source.read()).filter((s) => s.metric === 'run_queue_latency_seconds_sum' && s.cgroup?.endsWith(name)).reduce((a, s) => a + s.value, 0);
      const d0 = runDelayNs();
      const h0 = await sumSeconds();
      await busy(2000);
      const d1 = runDelayNs();
      const h1 = await sumSeconds();
      const kernel = (d1 - d0) / 1e9;
      const measured = h1 - h0;
      process.stderr.write(`runqlat: ${measured.toFixed(3)} s of run-queue latency for the two loops over 2 s; schedstat run_delay ${kernel.toFixed(3)} s\n`);
      // Each loop waits while the other (or another tenant) runs: at least half the window between them.
      // runqlat finds 83-86 % of schedstat's figure, with the task-storage program as with the
      // pid-hash one before it (measured side by side, session 3); the rest is not explained yet.
      expect(kernel).toBeGreaterThan(0.5);
      expect(measured / kernel).toBeGreaterThan(0.75);
      expect(measured / kernel).toBeLessThan(1.1);
    } finally {
      await source.shutdown();
      for (const c of loops) c.kill('SIGKILL');
      await busy(100);
      rmdirSync(dir);
    }
  });

  it('says what is missing when an object file is not built', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const source = new EbpfSource(ebpfConfigSchema.parse({ programs: ['sched_switch'], objectDir: '/nonexistent' }));
    await expect(source.start()).rejects.toThrow(/not available here: \/nonexistent\/sched_switch\.bpf\.o is missing.*build\.sh.*clang/);
    await source.shutdown();
  });
});

describe('ebpf source without libbpf', () => {
  it('fails start-up with "not available here" and the reason', async () => {
    const source = new EbpfSource(ebpfConfigSchema.parse({}), { ok: false, reason: 'libbpf.so.1 could not be loaded; install the Debian package libbpf1' });
    await expect(source.start()).rejects.toThrow('The ebpf source is not available here: libbpf.so.1 could not be loaded; install the Debian package libbpf1.');
    await source.shutdown();
    await source.shutdown();
  });
});
