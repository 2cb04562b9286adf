/**
 * The default measurement set's own cost as a collector that runs for a whole experiment has it
 * (issue 19's goal: perf + procfs + eBPF at 10 Hz ≤ 0.5 % of one core), next to `perf stat -I`
 * counting the same perf events on the same CPUs at the same interval, all measured in the same
 * time windows:
 * - two collectors in processes of their own (the default set, its batches thrown away): one on
 *   the native sampler, one on the JS timer. Each is left to warm up first (`--warmup`, 40 s:
 *   V8 keeps compiling the tick's functions for the first tens of seconds at 10 Hz, which a
 *   long-running collector pays once), then measured from outside, from the kernel's per-thread
 *   run time (/proc/<pid>/task/<tid>/schedstat, ns), split into the main thread, the sampler
 *   thread and the others (V8's and libuv's workers);
 * - `perf stat -a -I` with the default set's perf events, started fresh for each window in a
 *   cgroup v2 of its own (its CPU time from cpu.stat, less the start-up of a run that ends at once).
 * The three run side by side in each window (so load drifts hit them alike), `--rounds` windows of
 * `--seconds`; figures are median [min–max] ms CPU per s. Needs root (perf, BPF), built eBPF objects.
 *
 *   npm run build && node dist/bench/default-set-overhead.bench.js [--hz 10] [--seconds 5] [--rounds 5] [--warmup 40]
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { findCgroup2Root } from '../collectors/ebpf/decoders.js';
import { DEFAULT_EBPF_PROGRAMS, DEFAULT_PERF_EVENTS } from '../collectors/measure/schema.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Child mode: the default set at `hz` on the native sampler or the JS timer, until stdin ends. */
async function child(hz: number, native: boolean): Promise<void> {
  const { CollectorAgent } = await import('../collectors/agent.js');
  const { buildSources } = await import('../collectors/build.js');
  const { SequenceFile } = await import('../collectors/sequence.js');
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-default-set-'));
  const built = buildSources(['perf', 'procfs', 'ebpf'], { perf: { events: [...DEFAULT_PERF_EVENTS] }, ebpf: { programs: [...DEFAULT_EBPF_PROGRAMS] } }, { stateDir: dir });
  const agent = new CollectorAgent({
    node: 'bench', collectorId: 'bench/default-set', ...built, intervalMs: Math.round(1000 / hz),
    producer: { start: async () => {}, shutdown: async () => {}, send: async () => {} },
    sequence: SequenceFile.forCollector(dir, 'bench/default-set'), nativeSampler: native,
  });
  await agent.start();
  process.stdout.write(`ready ${agent.mode}${agent.jsTimerReason ? ` (${agent.jsTimerReason})` : ''}\n`);
  for await (const _line of createInterface({ input: process.stdin })) {
    // nothing to do: the parent measures from outside
  }
  await agent.shutdown();
  rmSync(dir, { recursive: true, force: true });
}

type ThreadKind = 'main' | 'sampler' | 'other';

/** ns on CPU of each thread of a process so far, by kind (the main thread's tid is the pid; sampler.c names its thread). */
function threadNs(pid: number): Record<ThreadKind, number> {
  const out: Record<ThreadKind, number> = { main: 0, sampler: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const kind: ThreadKind = Number(tid) === pid ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('isoscope-sampl') ? 'sampler' : 'other';
      out[kind] += ns;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

async function startChild(hz: number, native: boolean): Promise<{ proc: ChildProcess; mode: string }> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', String(hz), native ? 'native' : 'js'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !first.value.startsWith('ready ')) throw new Error(`the ${native ? 'native' : 'JS timer'} collector did not start`);
  return { proc, mode: first.value.slice(6) };
}

function cgroup2Root(): string | null {
  try {
    return findCgroup2Root('/proc/self/mountinfo');
  } catch {
    return null;
  }
}

/** CPU seconds of `perf stat -a -I` running `command`, from a cgroup v2 of its own. */
function perfStatCpu(hz: number, command: string): number {
  const root = cgroup2Root();
  if (root === null) throw new Error('no cgroup v2 hierarchy for perf stat');
  const cg = `${root}/isoscope-bench-default-${process.pid}`;
  mkdirSync(cg);
  try {
    if (!existsSync(`${cg}/cpu.stat`)) throw new Error('no cpu.stat in a cgroup v2');
    execFileSync('bash', ['-c', `echo $$ > ${cg}/cgroup.procs && exec perf stat -a -I ${Math.round(1000 / hz)} -x, -e ${DEFAULT_PERF_EVENTS.join(',')} -- ${command} >/dev/null 2>&1`]);
    return Number(/^usage_usec (\d+)$/m.exec(readFileSync(`${cg}/cpu.stat`, 'utf8'))![1]) / 1e6;
  } finally {
    rmdirSync(cg);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (x: number) => (x * 1000).toFixed(2);
const spread = (xs: number[]) => `${ms(median(xs))} [${ms(Math.min(...xs))}–${ms(Math.max(...xs))}]`;
const pct = (xs: number[]) => `${(median(xs) * 100).toFixed(2)} % of one core [${(Math.min(...xs) * 100).toFixed(2)}–${(Math.max(...xs) * 100).toFixed(2)}]`;

export async function main(): Promise<void> {
  const hz = arg('--hz', 10);
  const seconds = arg('--seconds', 5);
  const rounds = arg('--rounds', 5);
  const warmup = arg('--warmup', 40);
  console.log(`default measurement set (perf ${DEFAULT_PERF_EVENTS.length} events + procfs + eBPF ${DEFAULT_EBPF_PROGRAMS.join(', ')}) at ${hz} Hz, each collector in its own process past a ${warmup} s warm-up; ${rounds} windows of ${seconds} s, native sampler, JS timer and perf stat -I side by side; ms CPU per s, median [min–max]`);
  console.log(`  load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  // perf stat's own start-up (exec, opening 12 events on every CPU, exit) is taken off each window.
  // The first start is cold (page cache, the perf binary's relocations) and costs more than the rest,
  // so it is left out and the median of the next ones is used.
  perfStatCpu(hz, 'true');
  const startup = median([0, 1, 2, 3, 4].map(() => perfStatCpu(hz, 'true')));
  const native = await startChild(hz, true);
  const js = await startChild(hz, false);
  const procs = { native: native.proc, js: js.proc };
  try {
    console.log(`  collectors: native sampler (${native.mode}), JS timer (${js.mode}); perf stat's start-up ${(startup * 1000).toFixed(1)} ms CPU, left out of its figures`);
    await sleep(warmup * 1000);
    const cpu = { native: [] as number[], js: [] as number[], perf: [] as number[] };
    const split = { native: [] as Record<ThreadKind, number>[], js: [] as Record<ThreadKind, number>[] };
    for (let r = 0; r < rounds; r++) {
      const before = { native: threadNs(procs.native.pid!), js: threadNs(procs.js.pid!) };
      const t0 = performance.now();
      // perf stat runs synchronously for the window: the collectors' own processes run meanwhile.
      const perf = perfStatCpu(hz, `sleep ${seconds}`);
      const wall = (performance.now() - t0) / 1000;
      for (const k of ['native', 'js'] as const) {
        const after = threadNs(procs[k].pid!);
        const per = Object.fromEntries((['main', 'sampler', 'other'] as const).map((t) => [t, (after[t] - before[k][t]) / 1e9 / wall])) as Record<ThreadKind, number>;
        split[k].push(per);
        cpu[k].push(per.main + per.sampler + per.other);
      }
      cpu.perf.push(Math.max(0, perf - startup) / seconds);
    }
    const threads = (xs: Record<ThreadKind, number>[]) => `main ${spread(xs.map((x) => x.main))}, sampler thread ${spread(xs.map((x) => x.sampler))}, other threads ${spread(xs.map((x) => x.other))}`;
    console.log(`  native sampler: ${spread(cpu.native)} = ${pct(cpu.native)}   goal ≤ 0.50 %`);
    console.log(`                  (${threads(split.native)})`);
    console.log(`  JS timer:       ${spread(cpu.js)} = ${pct(cpu.js)}   (${threads(split.js)})`);
    const perfMedian = median(cpu.perf);
    const ratio = perfMedian > 0
      ? `the default set on the native sampler is ${(median(cpu.native) / perfMedian).toFixed(2)}× that`
      : 'its cost per second was within the spread of its start-up, so no ratio is given';
    console.log(`  perf stat -I, its ${DEFAULT_PERF_EVENTS.length} perf events alone: ${spread(cpu.perf)} = ${pct(cpu.perf)}; ${ratio}`);
  } finally {
    for (const p of Object.values(procs)) {
      const exited = new Promise((r) => p.once('exit', r));
      p.stdin!.end();
      await exited;
    }
  }
  console.log(`  load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

const at = process.argv.indexOf('--child');
if (at > 0) await child(Number(process.argv[at + 1]), process.argv[at + 2] === 'native');
else await main();
