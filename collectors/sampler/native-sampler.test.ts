/**
 * The native sampler on this kernel: the agent reading perf counters on a thread off the event loop
 * sends the same batches as on its JS timer (same metrics, CPUs and labels per batch, seq without
 * gaps), each with the time its counters were read (cpu-clock per CPU between two batches equals the
 * time between their ts), sends the ticks read before a shutdown, and falls back to the JS timer,
 * saying why, where the sampler cannot be used or built.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { BusMessage, BusProducer } from '../../bus/bus.js';
import { decode } from '../../schema/codec.js';
import type { Sample } from '../../schema/records.js';
import { CollectorAgent, type CollectorAgentOptions } from '../agent.js';
import { buildSources } from '../build.js';
import { perfCapability, skipForMissingCapability } from '../perf/kernel-gate.js';
import { onlineCpus } from '../perf/targets.js';
import { SelfTelemetry } from '../self/self-telemetry.js';
import { SequenceFile } from '../sequence.js';
import type { Source } from '../source.js';
import { bpfCapability } from '../ebpf/kernel-gate.js';
import { buildAndLoad } from './native-sampler.js';

const capability = perfCapability();
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  children.forEach((c) => c.kill('SIGKILL'));
});
const EVENTS = ['cpu-clock', 'task-clock', 'context-switches', 'page-faults'];

/** Runs an agent for `ms` and returns its batches, decoded, in the order they were sent. */
async function run(ms: number, o: Partial<CollectorAgentOptions> & { perf?: Record<string, unknown>; extra?: Source[]; names?: string[] }): Promise<{ batches: Sample[][]; mode: string | null; reason: string | null; seqs: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-sampler-'));
  dirs.push(dir);
  const sent: BusMessage[] = [];
  const producer: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async (_t, ms) => void sent.push(...ms) };
  const { perf, extra, names, ...rest } = o;
  const built = buildSources(names ?? ['perf'], { perf: perf ?? { events: EVENTS }, ebpf: { programs: ['sched_switch'] } }, { stateDir: dir });
  built.sources.push(...(extra ?? []));
  const agent = new CollectorAgent({
    node: 'sampler-test', collectorId: 'sampler-test/perf', ...built,
    intervalMs: 20, producer, sequence: SequenceFile.forCollector(dir, 'sampler-test/perf'), ...rest,
  });
  await agent.start();
  await sleep(ms);
  await agent.shutdown();
  const batches = sent.map((m) => {
    const d = decode(m.value, 'samples');
    expect(d.errors).toEqual([]);
    return d.records;
  });
  return { batches, mode: agent.mode, reason: agent.jsTimerReason, seqs: sent.map((m) => Number(m.headers?.seq)) };
}

const shape = (b: Sample[]) => b.map((s) => `${s.metric}@${s.cpu}${s.cgroup ?? ''}${s.comm ?? ''}`).sort().join(' ');

describe('native sampler', () => {
  it('sends the batches of the JS path, each with the time its counters were read, and the ticks read before shutdown', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const native = await run(2500, {});
    expect(native.mode).toBe('native');
    const js = await run(600, { nativeSampler: false });
    expect(js.mode).toBe('js');
    const cpus = await onlineCpus('/sys');

    // Same samples per batch as the JS path: every metric on every CPU, nothing else.
    expect(js.batches.length).toBeGreaterThan(3);
    const expected = shape(js.batches[0]!);
    expect(expected.split(' ')).toHaveLength(EVENTS.length * cpus.length);
    for (const b of native.batches) expect(shape(b)).toBe(expected);
    // seq 0, 1, 2 … without gaps, in the message header and in every record.
    native.seqs.forEach((seq, i) => expect(seq).toBe(i));
    native.batches.forEach((b, i) => b.forEach((s) => expect(s.seq).toBe(i)));

    // One batch per tick of 20 ms over 2.5 s, the last ones read between the last flush and shutdown:
    // at least half of them even on a loaded machine (a tick the kernel delays is counted once).
    expect(native.batches.length).toBeGreaterThan(2500 / 20 / 2);
    const ts = native.batches.map((b) => b[0]!.ts);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! > ts[i - 1]!).toBe(true);

    // Each batch keeps the time its counters were read: cpu-clock of a CPU between two batches is
    // the wall time between their ts (per interval, and summed over the run).
    for (const cpu of cpus) {
      const ratios: number[] = [];
      let counted = 0;
      for (let i = 1; i < native.batches.length; i++) {
        const clock = native.batches[i]!.find((s) => s.metric === 'cpu-clock' && s.cpu === cpu)!;
        const wall = Number(ts[i]! - ts[i - 1]!);
        ratios.push(clock.value / wall);
        counted += clock.value;
      }
      ratios.sort((a, b) => a - b);
      expect(ratios[ratios.length >> 1]!).toBeGreaterThan(0.99);
      expect(ratios[ratios.length >> 1]!).toBeLessThan(1.01);
      expect(counted / Number(ts.at(-1)! - ts[0]!)).toBeCloseTo(1, 1);
    }
  }, 30_000);

  it('reads procfs files and eBPF maps too (the default set): the same samples, /proc/interrupts and memory once a second, all read at the same instant', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const bpf = bpfCapability();
    if (!bpf.ok) skipForMissingCapability(ctx.skip, bpf.why);
    const native = await run(2600, { names: ['perf', 'procfs', 'ebpf'] });
    expect(native.mode).toBe('native');
    const js = await run(600, { names: ['perf', 'procfs', 'ebpf'], nativeSampler: false });
    const everySecond = (metric: string) => metric === 'irq.count' || metric.startsWith('mem.') || metric.startsWith('numa.mem.');
    const names = (b: Sample[]) => [...new Set(b.filter((s) => !everySecond(s.metric)).map((s) => `${s.source}:${s.metric}`))].sort();
    const expected = names(js.batches.at(-1)!);
    for (const b of native.batches) expect(names(b)).toEqual(expected);
    native.seqs.forEach((seq, i) => expect(seq).toBe(i));
    // /proc/interrupts on the first tick and on every 50th (interruptsEveryMs 1000 at 20 ms).
    const withIrq = native.batches.map((b, i) => (b.some((s) => s.metric === 'irq.count') ? i : -1)).filter((i) => i >= 0);
    expect(withIrq[0]).toBe(0);
    expect(withIrq.length).toBeGreaterThanOrEqual(2);
    expect(withIrq.length).toBeLessThanOrEqual(4);
    // The meminfo files on the same ticks (memoryEveryMs 1000), every memory metric of the JS path then.
    const memory = (b: Sample[]) => [...new Set(b.filter((s) => s.metric.startsWith('mem.') || s.metric.startsWith('numa.mem.')).map((s) => s.metric))].sort();
    const withMemory = native.batches.map((b, i) => (memory(b).length > 0 ? i : -1)).filter((i) => i >= 0);
    expect(withMemory).toEqual(withIrq);
    for (const i of withMemory) expect(memory(native.batches[i]!)).toEqual(memory(js.batches[0]!));
    // Read at the same instant, the eBPF program's switch count and the kernel's (/proc/stat ctxt)
    // agree batch by batch in sum, and cpu time per CPU adds up to the wall time.
    const later = native.batches.slice(1);
    const total = (metric: string, bs = later) => bs.reduce((a, b) => a + b.filter((s) => s.metric === metric).reduce((x, s) => x + s.value, 0), 0);
    expect(total('sched_switches_total') / total('context_switches')).toBeGreaterThan(0.9);
    expect(total('sched_switches_total') / total('context_switches')).toBeLessThan(1.1);
    const wall = Number(later.at(-1)![0]!.ts - native.batches[0]![0]!.ts) / 1e9;
    const cpus = await onlineCpus('/sys');
    for (const cpu of cpus) {
      const seconds = later.reduce((a, b) => a + b.filter((s) => s.source === 'procfs' && s.metric.startsWith('cpu.') && s.cpu === cpu && s.metric !== 'cpu.guest' && s.metric !== 'cpu.guest_nice').reduce((x, s) => x + s.value, 0), 0);
      expect(seconds / wall).toBeGreaterThan(0.9);
      expect(seconds / wall).toBeLessThan(1.1);
    }
  }, 30_000);

  it("keeps the collector's own CPU time and wake-ups (the sampler thread's included) on record in every batch", async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const c0 = process.cpuUsage();
    const r0 = process.resourceUsage();
    const { batches, mode } = await run(2200, { extra: [new SelfTelemetry(() => ({ droppedBatches: 0 }))] });
    const c = process.cpuUsage(c0);
    const r = process.resourceUsage();
    expect(mode).toBe('native');
    const sum = (metric: string) => batches.reduce((a, b) => a + b.filter((s) => s.metric === metric).reduce((x, s) => x + s.value, 0), 0);
    for (const b of batches) expect(b.filter((s) => s.source === 'collector').map((s) => s.metric).sort()).toEqual(['collector.context_switches', 'collector.cpu_seconds', 'collector.dropped_batches']);
    // Shared out over the ticks of each drain; in all, no more than the process used meanwhile.
    expect(sum('collector.cpu_seconds')).toBeGreaterThan(0);
    expect(sum('collector.cpu_seconds')).toBeLessThanOrEqual((c.user + c.system) / 1e6);
    // The sampler thread wakes (and sleeps) once per tick: at least one context switch per batch.
    const switches = sum('collector.context_switches');
    expect(switches).toBeGreaterThanOrEqual(batches.length * 0.9);
    expect(switches).toBeLessThanOrEqual(r.voluntaryContextSwitches + r.involuntaryContextSwitches - r0.voluntaryContextSwitches - r0.involuntaryContextSwitches);
  }, 30_000);

  it('stays on the JS timer for per-process groups, saying why', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const perProcess = await run(300, { perf: { events: ['task-clock'], scope: { kind: 'pid', pids: [child.pid!] } } });
    expect(perProcess.mode).toBe('js');
    expect(perProcess.reason).toBe('perf: per-process perf groups are read on the JS timer (their exit is checked before each read)');
    expect(perProcess.batches.length).toBeGreaterThan(0);
  }, 30_000);

  it('falls back to the JS timer when the sampler cannot be built, and says why', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const buildDir = mkdtempSync(join(tmpdir(), 'isoscope-sampler-build-'));
    dirs.push(buildDir);
    const failing = await buildAndLoad({ cc: join(buildDir, 'no-such-cc'), buildDir });
    expect(failing).toEqual({ ok: false, reason: expect.stringMatching(/^compiling .*sampler\.c failed: no C compiler ".*no-such-cc"/) });
    const fallback = await run(300, { loadSampler: async () => failing });
    expect(fallback.mode).toBe('js');
    expect(fallback.reason).toMatch(/^the native sampler is not available \(compiling .*no C compiler/);
    expect(fallback.batches.length).toBeGreaterThan(3);
    expect(shape(fallback.batches.at(-1)!).split(' ')).toHaveLength(EVENTS.length * (await onlineCpus('/sys')).length);
  }, 30_000);
});
