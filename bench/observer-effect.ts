/**
 * The observer effect itself: how much slower a workload pinned to one CPU runs while the collector
 * samples every CPU, at 10 and 100 Hz, against the same workload alone in the same run. Workloads:
 * CPU-bound `sysbench cpu` (events) and memory-bound `sysbench memory` over 64 MiB blocks (MiB
 * written; stress-ng's stream stressor reports too few bogo ops in seconds-long runs to tell 1 %
 * apart), each pinned to CPU 0 with taskset. The collector runs in its own process
 * with the default measurement set of an experiment (perf events on every CPU, procfs, the default
 * eBPF programs; whatever of it this machine allows) and throws its batches away. Conditions are
 * interleaved in rotating order, `--repeats` times each; the slowdown is mean(alone) / mean(with)
 * (1.00 = no effect, above 1 = slower) with a 95 % bootstrap confidence interval. The goal at 10 Hz:
 * an interval that contains 1.00 and is narrower than ±1 %. Needs root for perf and BPF (without,
 * the collector runs procfs alone, and says so).
 *
 *   npm run build && node dist/bench/observer-effect.js [--seconds 3] [--repeats 5]
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** Child mode: the collector with the default measurement set at `hz` until SIGTERM. */
async function collectorChild(hz: number): Promise<void> {
  const { CollectorAgent } = await import('../collectors/agent.js');
  const { buildSources } = await import('../collectors/build.js');
  const { SequenceFile } = await import('../collectors/sequence.js');
  const { DEFAULT_EBPF_PROGRAMS, DEFAULT_PERF_EVENTS } = await import('../collectors/measure/schema.js');
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-observer-'));
  const options = { perf: { events: [...DEFAULT_PERF_EVENTS] }, ebpf: { programs: [...DEFAULT_EBPF_PROGRAMS] } };
  const used: string[] = [];
  const sources = [];
  for (const name of ['perf', 'ebpf', 'procfs']) {
    const built = buildSources([name], options, { stateDir: dir }).sources[0]!;
    try {
      await built.start();
      await built.shutdown();
      sources.push(buildSources([name], options, { stateDir: dir }).sources[0]!);
      used.push(name);
    } catch (err) {
      process.stderr.write(`observer-effect: the ${name} source cannot run here (${(err as Error).message}); measuring without it\n`);
    }
  }
  const agent = new CollectorAgent({
    node: 'bench', collectorId: 'bench/observer', sources, intervalMs: Math.round(1000 / hz),
    producer: { start: async () => {}, shutdown: async () => {}, send: async () => {} },
    sequence: SequenceFile.forCollector(dir, 'bench/observer'),
  });
  await agent.start();
  process.stdout.write(`ready ${used.join('+')}\n`);
  process.once('SIGTERM', () => {
    void agent.shutdown().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

interface Workload {
  name: string;
  unit: string;
  /** The shell command (pinned to CPU 0); SECONDS is replaced by the run length. */
  command: string;
  /** The work done, from the command's output. */
  work(out: string): number;
}

/** What one run did: its work, the wall time it took and the CPU time it got (user + sys). */
interface RunResult {
  work: number;
  wall: number;
  cpu: number;
}

const WORKLOADS: Workload[] = [
  {
    name: 'sysbench cpu (CPU-bound)',
    unit: 'events',
    command: 'taskset -c 0 sysbench cpu --threads=1 --time=SECONDS run',
    work: (out) => Number(/total number of events:\s+(\d+)/.exec(out)![1]),
  },
  {
    // 64 MiB blocks: twice the L3 of the development machine, so each pass streams from DRAM.
    name: 'sysbench memory, 64 MiB blocks (memory-bound)',
    unit: 'MiB',
    command: 'taskset -c 0 sysbench memory --threads=1 --memory-block-size=64M --memory-total-size=100000G --time=SECONDS run',
    work: (out) => Number(/([\d.]+) MiB transferred/.exec(out)![1]),
  },
];

/** Runs a workload; its CPU time comes from the shell's `times` (children's user + sys). */
function runWorkload(w: Workload, seconds: number): RunResult {
  const t0 = performance.now();
  const out = execFileSync('bash', ['-c', `${w.command.replace('SECONDS', String(seconds))}; times`], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const children = out.trim().split('\n').at(-1)!;
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
  return { work: w.work(out), wall, cpu };
}

async function startCollector(hz: number): Promise<{ child: ChildProcess; sources: string }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--collector', String(hz)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sources = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /ready (\S*)/.exec(text);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the collector exited with ${code} before it was ready`)));
  });
  return { child, sources };
}

async function stopCollector(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Slowdown mean(alone)/mean(with) and its 95 % percentile-bootstrap interval. */
function slowdown(alone: number[], withCollector: number[], resamples = 10_000): { ratio: number; lo: number; hi: number } {
  const pick = (xs: number[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const draws: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const a = mean(alone.map(() => pick(alone)));
    const w = mean(withCollector.map(() => pick(withCollector)));
    draws.push(a / w);
  }
  draws.sort((x, y) => x - y);
  return { ratio: mean(alone) / mean(withCollector), lo: draws[Math.floor(0.025 * resamples)]!, hi: draws[Math.floor(0.975 * resamples)]! };
}

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 3);
  const repeats = arg('--repeats', 5);
  const conditions = ['alone', '10 Hz', '100 Hz'] as const;
  console.log(`observer effect: workload pinned to CPU 0, collector on every CPU; ${seconds} s runs, ${repeats} repeats per condition, interleaved`);
  console.log(`  load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')} (the machine is shared: the intervals widen with it)`);
  let sourcesUsed = '';
  for (const w of WORKLOADS) {
    const results = new Map<string, RunResult[]>(conditions.map((c) => [c, []]));
    for (let r = 0; r < repeats; r++) {
      for (let k = 0; k < conditions.length; k++) {
        const c = conditions[(r + k) % conditions.length]!;
        let collector: ChildProcess | null = null;
        if (c !== 'alone') {
          const started = await startCollector(c === '10 Hz' ? 10 : 100);
          collector = started.child;
          sourcesUsed = started.sources;
          await new Promise((res) => setTimeout(res, 1000)); // past its start-up (module loading, BPF verification, JIT)
        }
        try {
          results.get(c)!.push(runWorkload(w, seconds));
        } finally {
          if (collector) await stopCollector(collector);
        }
      }
    }
    // Work per wall second is what the experiment sees; work per CPU second of the workload leaves
    // out how much of CPU 0 the scheduler gave it (on a shared machine, mostly other tenants' doing)
    // and keeps the interference through caches, memory and interrupts.
    for (const [label, rate] of [
      ['per wall second', (x: RunResult) => x.work / x.wall],
      ['per CPU second of the workload', (x: RunResult) => x.work / x.cpu],
    ] as const) {
      const alone = results.get('alone')!.map(rate);
      console.log(`  ${w.name}, ${w.unit} ${label}: alone ${mean(alone).toFixed(1)} (${Math.min(...alone).toFixed(1)}–${Math.max(...alone).toFixed(1)})`);
      for (const c of ['10 Hz', '100 Hz'] as const) {
        const xs = results.get(c)!.map(rate);
        const s = slowdown(alone, xs);
        const contains = s.lo <= 1 && s.hi >= 1;
        const narrow = s.hi - 1 < 0.01 && 1 - s.lo < 0.01;
        console.log(
          `    collector ${c.padStart(6)}: ${mean(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}); slowdown ${s.ratio.toFixed(4)}×, 95 % CI [${s.lo.toFixed(4)}, ${s.hi.toFixed(4)}]` +
            (c === '10 Hz' ? `  goal: contains 1 (${contains ? 'yes' : 'no'}) and within ±1 % (${narrow ? 'yes' : 'no'})` : ''),
        );
      }
    }
    const share = results.get('alone')!.map((x) => x.cpu / x.wall);
    console.log(`    (alone, the workload got ${(mean(share) * 100).toFixed(0)} % of CPU 0 on average: the rest went to other work on this machine)`);
  }
  console.log(`  collector sources: ${sourcesUsed}; load average at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

const child = process.argv.indexOf('--collector');
if (child > 0) await collectorChild(Number(process.argv[child + 1]));
else await main();
