/**
 * What the collector costs beside the workload it measures, as CPU seconds per second of wall time
 * (its own process CPU time, user + system), each figure next to its reference from the same run:
 * - perf counting (8 perf events + 3 tracepoints on every CPU) at 10 and 100 Hz vs `perf stat -a -I`
 *   counting the same events on the same CPUs at the same interval (perf's own CPU time, from a
 *   cgroup of its own, over a window past its start-up, as the collector's: bench/perf-stat-cpu.ts);
 *   goal ≤ 1.0×;
 * - the same plus the shipped eBPF programs (perf stat has no counterpart: the difference is theirs);
 * - the procfs source alone at 10 and 100 Hz (goal ≤ 20 ms CPU/s at 100 Hz);
 * - the default measurement set of an experiment (collectors/measure: perf + procfs + eBPF) at
 *   10 Hz, in % of one core (goal ≤ 0.5 %);
 * - an experiment's collector (collectors/measure's default `measure:`, two partition scopes,
 *   inventory) at 2 Hz (the default interval) and 10 Hz, on the native sampler and on the JS timer,
 *   with and without the scopes, each split over the process's threads (main, sampler, other),
 *   measured once past start-up (see settle());
 * - the floor of any JavaScript sampling loop: an idle Node timer at the same rate;
 * - the cost per CPU of one perf group read, and from it the cost on a 64- and a 128-CPU node.
 * Each figure is measured in `--rounds` rounds (configurations interleaved, so load drifts hit them
 * alike) and printed as median [min–max]; the load average is printed, since the machine is shared.
 * Needs root (perf, BPF) and built eBPF objects (npm run build:ebpf).
 *
 *   npm run build && node dist/bench/collector-overhead.bench.js [--seconds 5] [--rounds 3]
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus as osCpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BusProducer } from '../bus/bus.js';
import { CollectorAgent } from '../collectors/agent.js';
import { buildSources } from '../collectors/build.js';
import { SHIPPED_PROGRAMS } from '../collectors/ebpf/config.js';
import { findCgroup2Root } from '../collectors/ebpf/decoders.js';
import { measuredSources } from '../collectors/measure/build.js';
import { perfStatCpuPerSecond } from './perf-stat-cpu.js';
import { DEFAULT_EBPF_PROGRAMS, DEFAULT_PERF_EVENTS, measureSchema } from '../collectors/measure/schema.js';
import { ACK_SUFFIX, scopeFileName } from '../collectors/scopes/scope-file.js';
import { perfConfigSchema } from '../collectors/perf/config.js';
import { PerfSource } from '../collectors/perf/perf.js';
import { onlineCpus } from '../collectors/perf/targets.js';
import { SampleBatch } from '../collectors/sample-batch.js';
import { SequenceFile } from '../collectors/sequence.js';

const PERF_EVENTS = ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'cycles', 'instructions', 'cache-misses', 'branch-misses'];
const TRACEPOINTS = ['sched:sched_switch', 'sched:sched_wakeup', 'irq:softirq_entry'];
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** A sink that takes the encoded batch and throws it away: the bench measures the collector, not a bus. */
const discard: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async () => {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds per wall second of this process while `during` runs. */
async function cpuPerSecond(seconds: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6 / ((performance.now() - t0) / 1000);
}

async function agentCpuPerSecond(hz: number, seconds: number, sources: string[], options: Record<string, unknown>, nativeSampler = true): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-overhead-'));
  try {
    const built = buildSources(sources, options, { stateDir: dir });
    const agent = new CollectorAgent({
      node: 'bench', collectorId: 'bench/overhead', ...built, intervalMs: Math.round(1000 / hz), producer: discard,
      sequence: SequenceFile.forCollector(dir, 'bench/overhead'), nativeSampler,
    });
    await agent.start();
    if (nativeSampler && agent.mode !== 'native') throw new Error(`the native sampler did not start: ${agent.jsTimerReason}`);
    await settle(); // past start-up, as perf stat's window is past its own
    const cpu = await cpuPerSecond(seconds);
    await agent.shutdown();
    return cpu;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The default measurement set (perf + procfs + eBPF) as its own agent, measured past start-up
 * (settle()) as a collector running for a whole experiment is, with the per-thread split.
 */
async function defaultSetCpuPerSecond(hz: number, seconds: number, options: Record<string, unknown>, nativeSampler: boolean): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-overhead-default-'));
  try {
    const built = buildSources(['perf', 'procfs', 'ebpf'], options, { stateDir: dir });
    const agent = new CollectorAgent({
      node: 'bench', collectorId: 'bench/default', ...built, intervalMs: Math.round(1000 / hz), producer: discard,
      sequence: SequenceFile.forCollector(dir, 'bench/default'), nativeSampler,
    });
    await agent.start();
    if (nativeSampler && agent.mode !== 'native') throw new Error(`the native sampler did not start: ${agent.jsTimerReason}`);
    await settle();
    const measured = await cpuPerSecondByThread(seconds);
    await agent.shutdown();
    return measured;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Past an agent's start-up before it is measured, as a collector that runs for a whole experiment
 * is: a few ticks and flushes, then a full GC of what start-up left (loading the eBPF objects,
 * opening every source). Without it the first ~10 s of V8's worker threads (concurrent marking,
 * the memory reducer's compactions, optimising compiles) land in a 5 s figure: 6–10 ms CPU/s of
 * "other threads" in the first figure of a fresh process against 1–2 from the second on.
 */
async function settle(): Promise<void> {
  await sleep(SETTLE_MS);
  gc();
  await sleep(200);
}
const SETTLE_MS = 2500;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** CPU seconds per wall second, with the split over this process's threads. */
interface Measured {
  cpu: number;
  /** Per thread kind (main, sampler, other: V8 and libuv workers), CPU seconds per wall second. */
  threads: Record<ThreadKind, number>;
}
type ThreadKind = 'main' | 'sampler' | 'other';

/** ns on CPU of each of this process's threads so far (schedstat's first field), by thread kind. */
function threadCpuNs(): Record<ThreadKind, number> {
  const out: Record<ThreadKind, number> = { main: 0, sampler: 0, other: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      // sampler.c names its thread; the main thread's tid is the pid.
      const kind: ThreadKind = Number(tid) === process.pid ? 'main' : readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('isoscope-sampl') ? 'sampler' : 'other';
      out[kind] += ns;
    } catch {
      // the thread ended meanwhile: its time is in neither reading
    }
  }
  return out;
}

/** Like cpuPerSecond, with the per-thread split (threads that end during the window are missing from it). */
async function cpuPerSecondByThread(seconds: number): Promise<Measured> {
  const t0 = threadCpuNs();
  const w0 = performance.now();
  const cpu = await cpuPerSecond(seconds);
  const wall = (performance.now() - w0) / 1000;
  const t1 = threadCpuNs();
  const threads = Object.fromEntries((['main', 'sampler', 'other'] as const).map((k) => [k, (t1[k] - t0[k]) / 1e9 / wall])) as Record<ThreadKind, number>;
  return { cpu, threads };
}

/**
 * An experiment's collector as the orchestrator starts it (collectors/measure, the default
 * `measure:`: perf per CPU and per partition, procfs, eBPF attributed by partition, inventory as an
 * event source) at `hz`, with two partition scopes (cgroups of their own) handed over before it is
 * measured, or none (`scopes` false: the scopes directory stays empty): the native sampler (the
 * scopes' groups on its thread, inventory on the event loop) or the JS timer.
 */
async function experimentCollectorCpuPerSecond(hz: number, seconds: number, nativeSampler: boolean, scopes = true): Promise<Measured> {
  const root = cgroup2Root();
  if (root === null) throw new Error('no cgroup v2 hierarchy for the partitions');
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-overhead-exp-'));
  const partitions = scopes ? ['app', 'noise'] : [];
  const cgroups = partitions.map((p) => `${root}/isoscope-bench-${process.pid}-${p}`);
  try {
    for (const cg of cgroups) mkdirSync(cg, { recursive: true });
    const scopesDir = join(dir, 'scopes');
    const m = measuredSources(measureSchema.parse({ intervalMs: Math.round(1000 / hz) }), { scopesDir, stateDir: dir });
    const agent = new CollectorAgent({
      node: 'bench', collectorId: 'bench/experiment', sources: m.sources, eventSources: m.eventSources, intervalMs: Math.round(1000 / hz), producer: discard,
      sequence: SequenceFile.forCollector(dir, 'bench/experiment'), eventSequence: SequenceFile.forCollector(dir, 'bench/experiment', 'events'), nativeSampler,
    });
    await agent.start();
    if (nativeSampler && agent.mode !== 'native') throw new Error(`the native sampler did not start: ${agent.jsTimerReason}`);
    partitions.forEach((p, i) => writeFileSync(join(scopesDir, scopeFileName('r1', p)), JSON.stringify({ partition: p, run: 'r1', cgroups: [cgroups[i]] })));
    for (const p of partitions) for (let t = 0; !existsSync(join(scopesDir, scopeFileName('r1', p) + ACK_SUFFIX)); t++) if (t > 500) throw new Error('no scope ack'); else await sleep(10);
    await settle();
    if (nativeSampler && agent.mode !== 'native') throw new Error(`the native sampler stopped: ${agent.jsTimerReason}`);
    const measured = await cpuPerSecondByThread(seconds);
    await agent.shutdown();
    return measured;
  } finally {
    for (const cg of cgroups) if (existsSync(cg)) rmdirSync(cg);
    rmSync(dir, { recursive: true, force: true });
  }
}

function cgroup2Root(): string | null {
  try {
    return findCgroup2Root('/proc/self/mountinfo');
  } catch {
    return null;
  }
}

/** An idle Node timer at `hz`, aligned as the agent's: the floor of any JS sampling loop. */
async function idleTimerCpuPerSecond(hz: number, seconds: number): Promise<number> {
  const interval = 1000 / hz;
  let timer: NodeJS.Timeout | null = null;
  const tick = () => (timer = setTimeout(tick, interval - (Date.now() % interval)));
  tick();
  await sleep(200);
  const cpu = await cpuPerSecond(seconds);
  clearTimeout(timer!);
  return cpu;
}

/** µs of CPU per perf group read (all events of one CPU), per CPU, over `reads` reads in a loop. */
async function perCpuReadMicros(cpus: number[], reads: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const cpu of cpus) {
    const source = new PerfSource(perfConfigSchema.parse({ events: [...PERF_EVENTS, ...TRACEPOINTS], scope: { kind: 'cpu', cpus: [cpu] } }));
    await source.start();
    const batch = new SampleBatch('bench', 'bench/overhead');
    const c0 = process.cpuUsage();
    for (let i = 0; i < reads; i++) {
      batch.begin(1n, i);
      batch.source('perf');
      source.readInto(batch);
      batch.finish();
    }
    const c = process.cpuUsage(c0);
    out.set(cpu, (c.user + c.system) / reads);
    await source.shutdown();
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (x: number) => (x * 1000).toFixed(1);
const spread = (xs: number[]) => `${ms(median(xs)).padStart(6)} [${ms(Math.min(...xs))}–${ms(Math.max(...xs))}]`;

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 5);
  const rounds = arg('--rounds', 3);
  const cpus = await onlineCpus('/sys');
  const load0 = loadavg();
  console.log(`collector overhead on ${cpus.length} CPUs (${osCpus()[0]?.model ?? '?'}), ${seconds} s per figure, ${rounds} rounds; figures are ms CPU per s, median [min–max]`);
  console.log(`  load average at start ${load0.map((x) => x.toFixed(1)).join(' ')} (the machine is shared: figures move with it)`);

  const perfOpts = { perf: { events: [...PERF_EVENTS, ...TRACEPOINTS] }, ebpf: { programs: [...SHIPPED_PROGRAMS] } };
  const defaultOpts = { perf: { events: [...DEFAULT_PERF_EVENTS] }, ebpf: { programs: [...DEFAULT_EBPF_PROGRAMS] } };
  type Row = { name: string; run: () => Promise<number | Measured> | number };
  const rows: Row[] = [];
  for (const hz of [10, 100]) {
    rows.push({ name: `perf ${hz} Hz: isoscope`, run: () => agentCpuPerSecond(hz, seconds, ['perf'], perfOpts) });
    rows.push({ name: `perf ${hz} Hz: isoscope JS timer`, run: () => agentCpuPerSecond(hz, seconds, ['perf'], perfOpts, false) });
    rows.push({ name: `perf ${hz} Hz: perf stat -I`, run: () => perfStatCpuPerSecond(hz, seconds, [...PERF_EVENTS, ...TRACEPOINTS]) });
    rows.push({ name: `perf+eBPF ${hz} Hz`, run: () => agentCpuPerSecond(hz, seconds, ['perf', 'ebpf'], perfOpts) });
    rows.push({ name: `procfs ${hz} Hz`, run: () => agentCpuPerSecond(hz, seconds, ['procfs'], {}) });
    rows.push({ name: `idle Node timer ${hz} Hz`, run: () => idleTimerCpuPerSecond(hz, seconds) });
  }
  rows.push({ name: 'default set 10 Hz', run: () => defaultSetCpuPerSecond(10, seconds, defaultOpts, true) });
  rows.push({ name: 'default set 10 Hz JS timer', run: () => defaultSetCpuPerSecond(10, seconds, defaultOpts, false) });
  rows.push({ name: 'default set 10 Hz: perf stat -I', run: () => perfStatCpuPerSecond(10, seconds, [...DEFAULT_PERF_EVENTS]) });
  for (const hz of [2, 10]) {
    for (const scopes of [true, false]) {
      const tag = scopes ? '' : ' no scopes';
      rows.push({ name: `experiment collector ${hz} Hz${tag}`, run: () => experimentCollectorCpuPerSecond(hz, seconds, true, scopes) });
      rows.push({ name: `experiment collector ${hz} Hz${tag} JS timer`, run: () => experimentCollectorCpuPerSecond(hz, seconds, false, scopes) });
    }
  }
  const only = process.argv.includes('--only') ? new RegExp(process.argv[process.argv.indexOf('--only') + 1]!) : null;
  if (only) rows.splice(0, rows.length, ...rows.filter((r) => only.test(r.name)));
  const results = new Map<string, number[]>(rows.map((r) => [r.name, []]));
  const threads = new Map<string, Record<ThreadKind, number>[]>(rows.map((r) => [r.name, []]));
  const failed = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    for (const r of round % 2 === 0 ? rows : [...rows].reverse()) {
      if (failed.has(r.name)) continue;
      try {
        const m = await r.run();
        results.get(r.name)!.push(typeof m === 'number' ? m : m.cpu);
        if (typeof m !== 'number') threads.get(r.name)!.push(m.threads);
      } catch (err) {
        failed.set(r.name, (err as Error).message);
      }
    }
  }
  const fig = (name: string) => results.get(name) ?? [];
  const ok = (name: string) => fig(name).length > 0;
  /** Where a row's time went, per thread. */
  const split = (name: string) => {
    const t = threads.get(name) ?? [];
    return t.length ? `  (main ${spread(t.map((x) => x.main))}, sampler thread ${spread(t.map((x) => x.sampler))}, other threads ${spread(t.map((x) => x.other))})` : '';
  };
  for (const hz of [10, 100]) {
    const ours = fig(`perf ${hz} Hz: isoscope`);
    const perf = fig(`perf ${hz} Hz: perf stat -I`);
    const ratios = ours.map((o, i) => o / perf[i]!);
    if (ours.length === 0 || perf.length === 0) continue;
    console.log(`  ${String(hz).padStart(3)} Hz  perf counting: isoscope ${spread(ours)}   perf stat -I ${spread(perf)}   ratio ${(median(ours) / median(perf)).toFixed(2)}× (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×; goal ≤ 1.0×)`);
    const js = fig(`perf ${hz} Hz: isoscope JS timer`);
    if (js.length) console.log(`  ${String(hz).padStart(3)} Hz  perf counting on the JS timer (no native sampler): ${spread(js)}   ratio ${(median(js) / median(perf)).toFixed(2)}×`);
  }
  for (const hz of [10, 100]) {
    const name = `perf+eBPF ${hz} Hz`;
    if (ok(name)) console.log(`  ${String(hz).padStart(3)} Hz  perf + eBPF (${SHIPPED_PROGRAMS.join(', ')}): ${spread(fig(name))}   (perf alone ${spread(fig(`perf ${hz} Hz: isoscope`))})`);
    else if (failed.has(name)) console.log(`  ${String(hz).padStart(3)} Hz  eBPF not measured: ${failed.get(name)}`);
  }
  for (const hz of [10, 100]) if (ok(`procfs ${hz} Hz`)) console.log(`  ${String(hz).padStart(3)} Hz  procfs source alone (stat, meminfo, NUMA, interrupts): ${spread(fig(`procfs ${hz} Hz`))}${hz === 100 ? '   goal ≤ 20' : ''}`);
  for (const hz of [10, 100]) if (ok(`idle Node timer ${hz} Hz`)) console.log(`  ${String(hz).padStart(3)} Hz  idle Node timer (the floor of a JS sampling loop): ${spread(fig(`idle Node timer ${hz} Hz`))}`);
  const def = fig('default set 10 Hz');
  const defPerfStat = fig('default set 10 Hz: perf stat -I');
  const pct = (xs: number[]) => `${(median(xs) * 100).toFixed(2)} % of one core [${(Math.min(...xs) * 100).toFixed(2)}–${(Math.max(...xs) * 100).toFixed(2)}]`;
  if (def.length) {
    console.log(`   10 Hz  default measurement set (perf ${DEFAULT_PERF_EVENTS.length} events + procfs + eBPF ${DEFAULT_EBPF_PROGRAMS.join(', ')}): ${spread(def)} = ${pct(def)}   goal ≤ 0.50 %`);
    if (defPerfStat.length) console.log(`           perf stat -I counting its ${DEFAULT_PERF_EVENTS.length} perf events alone, same run: ${spread(defPerfStat)} = ${pct(defPerfStat)}; the default set is ${(median(def) / Math.max(median(defPerfStat), 1e-9)).toFixed(2)}× that`);
    console.log(`          ${split('default set 10 Hz')}`);
  }
  else if (failed.has('default set 10 Hz')) console.log(`   10 Hz  default measurement set not measured: ${failed.get('default set 10 Hz')}`);
  const defJs = fig('default set 10 Hz JS timer');
  if (defJs.length) console.log(`   10 Hz  default measurement set on the JS timer (no native sampler): ${spread(defJs)} = ${(median(defJs) * 100).toFixed(2)} % of one core${split('default set 10 Hz JS timer')}`);
  // The experiment's collector: sampler vs JS timer, with and without the scopes, and where the time goes.
  for (const hz of [2, 10]) {
    for (const tag of ['', ' no scopes']) {
      const what = tag ? 'no partition scopes' : '2 partition scopes';
      const native = fig(`experiment collector ${hz} Hz${tag}`);
      const js = fig(`experiment collector ${hz} Hz${tag} JS timer`);
      if (native.length && js.length) {
        console.log(`  ${String(hz).padStart(3)} Hz  experiment's collector (default measure:, ${what}, inventory): native sampler ${spread(native)} = ${(median(native) * 100).toFixed(2)} % of one core, JS timer ${spread(js)} = ${(median(js) * 100).toFixed(2)} %; ratio ${(median(native) / median(js)).toFixed(2)}× (goal < 1)`);
        console.log(`           native sampler${split(`experiment collector ${hz} Hz${tag}`)}`);
        console.log(`           JS timer      ${split(`experiment collector ${hz} Hz${tag} JS timer`)}`);
      } else if (failed.has(`experiment collector ${hz} Hz${tag}`) || failed.has(`experiment collector ${hz} Hz${tag} JS timer`)) {
        console.log(`  ${String(hz).padStart(3)} Hz  experiment's collector (${what}) not measured: ${failed.get(`experiment collector ${hz} Hz${tag}`) ?? failed.get(`experiment collector ${hz} Hz${tag} JS timer`)}`);
      }
    }
  }

  // Scaling with CPUs: one group read per CPU and interval; the rest of a tick does not grow with CPUs.
  const reads = 2000;
  const perCpu = await perCpuReadMicros(cpus, reads);
  const micros = [...perCpu.values()];
  const perRead = median(micros);
  console.log(`  per CPU: one perf group read (${PERF_EVENTS.length + TRACEPOINTS.length} events) + its encoding: ${[...perCpu].map(([c, us]) => `cpu${c} ${us.toFixed(1)} µs`).join(', ')} (${reads} reads each)`);
  for (const hz of [10, 100]) {
    if (!ok(`perf ${hz} Hz: isoscope`) || !ok(`perf ${hz} Hz: perf stat -I`)) continue;
    const total = median(fig(`perf ${hz} Hz: isoscope`));
    const fixed = Math.max(0, total / hz - (cpus.length * perRead) / 1e6);
    const at = (n: number) => (hz * (fixed + (n * perRead) / 1e6)) * 1000;
    const perfStat = median(fig(`perf ${hz} Hz: perf stat -I`));
    console.log(`  ${String(hz).padStart(3)} Hz  projected: fixed ${(fixed * 1e6).toFixed(0)} µs/tick + ${perRead.toFixed(1)} µs per CPU → 64 CPUs ${at(64).toFixed(1)} ms CPU/s (${(at(64) / 10).toFixed(2)} % of a core), 128 CPUs ${at(128).toFixed(1)} ms CPU/s (${(at(128) / 10).toFixed(2)} %); perf stat -I here ${ms(perfStat)} (${cpus.length} CPUs)`);
  }
  console.log(`  load average at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

await main();
