/**
 * The observer effect itself: how much slower a workload pinned to one CPU runs while the collector
 * samples every CPU, against the same workload alone, judged only when the measurement can tell.
 *
 * Workloads: CPU-bound `sysbench cpu` (events) and memory-bound `sysbench memory` over 64 MiB blocks
 * (MiB written), each pinned to CPU 0 with taskset; the rate is sysbench's work over its own
 * "total time" (the process start-up left out). The collector runs in a process of its own with
 * the default measurement set of an experiment (perf events on every CPU, procfs, the default eBPF
 * programs; whatever of it this machine allows) and throws its batches away. That process stays up
 * for the whole bench (its JIT warm), and starts and stops the collector on command: "alone" means
 * no perf event open and no BPF program attached, not a paused collector.
 *
 * Design, so that a shared machine's drift does not pass for an effect: the runs come in blocks of
 * three adjacent short runs (alone, collector at 10 Hz, collector at 100 Hz, in a random order per
 * block), workloads alternating block by block, until the time budget is spent. Each block gives
 * one paired ratio per rate (alone rate / rate with the collector: 1.00 = no effect, above 1 =
 * slower); the slowdown is their geometric mean with a 95 % bootstrap interval over the blocks.
 * The verdict at 10 Hz (the goal: not distinguishable from no effect, an interval that contains 1.0
 * and is narrower than ±1 %) is given only when the interval's half-width is under 1 %; otherwise
 * the bench prints "cannot judge: interval wider than ±1 %". It prints the number of blocks, the
 * load average before and after, and how much of CPU 0 the workload got alone (the rest went to
 * other work on the machine). Needs root for perf and BPF (without, the collector runs what it can,
 * and says so).
 *
 *   npm run build && node dist/bench/observer-effect.js [--seconds 2] [--budget 450]
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Child mode: a process that starts the collector (default measurement set at the given rate) on
 * "start <hz>", stops it on "stop", answering each line when done; exits on end of input.
 */
async function collectorChild(): Promise<void> {
  const { CollectorAgent } = await import('../collectors/agent.js');
  const { buildSources } = await import('../collectors/build.js');
  const { SequenceFile } = await import('../collectors/sequence.js');
  const { DEFAULT_EBPF_PROGRAMS, DEFAULT_PERF_EVENTS } = await import('../collectors/measure/schema.js');
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-observer-'));
  const options = { perf: { events: [...DEFAULT_PERF_EVENTS] }, ebpf: { programs: [...DEFAULT_EBPF_PROGRAMS] } };
  // Which sources run here, found once.
  const usable: string[] = [];
  for (const name of ['perf', 'ebpf', 'procfs']) {
    const probe = buildSources([name], options, { stateDir: dir }).sources[0]!;
    try {
      await probe.start();
      usable.push(name);
    } catch (err) {
      process.stderr.write(`observer-effect: the ${name} source cannot run here (${(err as Error).message}); measuring without it\n`);
    } finally {
      await probe.shutdown();
    }
  }
  type Agent = InstanceType<typeof CollectorAgent>;
  let agent: Agent | null = null;
  const reply = (line: string) => process.stdout.write(`${line}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, rate] = line.trim().split(' ');
    if (command === 'start' && agent === null) {
      agent = new CollectorAgent({
        node: 'bench', collectorId: 'bench/observer', sources: buildSources(usable, options, { stateDir: dir }).sources, intervalMs: Math.round(1000 / Number(rate)),
        producer: { start: async () => {}, shutdown: async () => {}, send: async () => {} },
        sequence: SequenceFile.forCollector(dir, 'bench/observer'),
      });
      await agent.start();
      reply(`started ${usable.join('+')} ${agent.mode}`);
    } else if (command === 'stop' && agent !== null) {
      await agent.shutdown();
      agent = null;
      reply('stopped');
    } else reply(`error: unexpected "${line}"`);
  }
  if (agent) await agent.shutdown();
  rmSync(dir, { recursive: true, force: true });
}

/** The collector process, driven line by line. */
class Collector {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor() {
    this.child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--collector'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  private async ask(line: string): Promise<string> {
    this.child.stdin!.write(`${line}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`the collector process ended before answering "${line}"`);
    if (r.value.startsWith('error')) throw new Error(`the collector process answered "${r.value}" to "${line}"`);
    return r.value;
  }
  /** Starts sampling at `hz`: the sources used and the agent's mode. */
  start(hz: number): Promise<string> {
    return this.ask(`start ${hz}`);
  }
  async stop(): Promise<void> {
    await this.ask('stop');
  }
  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    await exited;
  }
}

interface Workload {
  name: string;
  unit: string;
  /** The shell command (pinned to CPU 0); SECONDS is replaced by the run length. */
  command: string;
  /** The work done, from the command's output. */
  work(out: string): number;
}

/** What one run did: its work per second of sysbench's own run time, and the share of CPU 0 it got. */
interface RunResult {
  rate: number;
  /** Work per CPU second of the workload (user + sys). */
  ratePerCpu: number;
  share: number;
}

const WORKLOADS: Workload[] = [
  {
    name: 'sysbench cpu (CPU-bound)',
    unit: 'events/s',
    command: 'taskset -c 0 sysbench cpu --threads=1 --time=SECONDS run',
    work: (out) => Number(/total number of events:\s+(\d+)/.exec(out)![1]),
  },
  {
    // 64 MiB blocks: twice the L3 of the development machine, so each pass streams from DRAM.
    name: 'sysbench memory, 64 MiB blocks (memory-bound)',
    unit: 'MiB/s',
    command: 'taskset -c 0 sysbench memory --threads=1 --memory-block-size=64M --memory-total-size=100000G --time=SECONDS run',
    work: (out) => Number(/([\d.]+) MiB transferred/.exec(out)![1]),
  },
];

/** Runs a workload: its rate over sysbench's own "total time", and its CPU time from the shell's `times`. */
function runWorkload(w: Workload, seconds: number): RunResult {
  const out = execFileSync('bash', ['-c', `${w.command.replace('SECONDS', String(seconds))}; times`], { encoding: 'utf8' });
  const total = Number(/total time:\s+([\d.]+)s/.exec(out)![1]);
  const children = out.trim().split('\n').at(-1)!;
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
  const work = w.work(out);
  return { rate: work / total, ratePerCpu: work / Math.max(cpu, 0.01), share: cpu / total };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Geometric mean of paired ratios and its 95 % percentile-bootstrap interval (resampling blocks). */
export function pairedSlowdown(ratios: number[], resamples = 10_000): { ratio: number; lo: number; hi: number } {
  const logs = ratios.map(Math.log);
  const draws: number[] = [];
  for (let i = 0; i < resamples; i++) {
    let s = 0;
    for (let j = 0; j < logs.length; j++) s += logs[Math.floor(Math.random() * logs.length)]!;
    draws.push(s / logs.length);
  }
  draws.sort((a, b) => a - b);
  return { ratio: Math.exp(mean(logs)), lo: Math.exp(draws[Math.floor(0.025 * resamples)]!), hi: Math.exp(draws[Math.floor(0.975 * resamples)]!) };
}

/** The verdict the goal asks for: only when the interval is narrower than ±1 %. */
export function verdict(s: { lo: number; hi: number }): string {
  if ((s.hi - s.lo) / 2 > 0.01) return 'cannot judge: interval wider than ±1 %';
  return s.lo <= 1 && s.hi >= 1 ? 'not distinguishable from no effect (goal met)' : 'distinguishable from no effect (goal not met)';
}

const RATES = [10, 100] as const;
type Condition = 'alone' | (typeof RATES)[number];

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 2);
  const budget = arg('--budget', 450);
  const started = performance.now();
  const load0 = loadavg();
  console.log(`observer effect: workload pinned to CPU 0 of ${cpus().length}, collector on every CPU; blocks of ${seconds} s runs (alone, 10 Hz, 100 Hz in random order), workloads alternating, for ${budget} s`);
  console.log(`  load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const collector = new Collector();
  // Warm the collector process (module loading, JIT, the eBPF objects' first build) before anything counts.
  const sources = await collector.start(10);
  await sleep(3000);
  await collector.stop();
  const results = WORKLOADS.map(() => ({ blocks: [] as Map<Condition, RunResult>[] }));
  let blockSeconds = 0;
  for (let block = 0; ; block++) {
    const elapsed = (performance.now() - started) / 1000;
    if (block > 0 && elapsed + blockSeconds * 1.2 > budget) break;
    const t0 = performance.now();
    const w = block % WORKLOADS.length;
    const order: Condition[] = ['alone', ...RATES];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const runs = new Map<Condition, RunResult>();
    for (const c of order) {
      if (c !== 'alone') {
        await collector.start(c);
        await sleep(500); // past its start-up: programs attached, first ticks read
      }
      try {
        runs.set(c, runWorkload(WORKLOADS[w]!, seconds));
      } finally {
        if (c !== 'alone') await collector.stop();
      }
    }
    results[w]!.blocks.push(runs);
    blockSeconds = Math.max(blockSeconds, (performance.now() - t0) / 1000);
  }
  await collector.close();

  for (const [w, workload] of WORKLOADS.entries()) {
    const blocks = results[w]!.blocks;
    const alone = blocks.map((b) => b.get('alone')!);
    console.log(`  ${workload.name}: ${blocks.length} blocks; alone ${mean(alone.map((r) => r.rate)).toFixed(1)} ${workload.unit} (${Math.min(...alone.map((r) => r.rate)).toFixed(1)}–${Math.max(...alone.map((r) => r.rate)).toFixed(1)}), ${(mean(alone.map((r) => r.share)) * 100).toFixed(1)} % of CPU 0 (the rest went to other work on this machine)`);
    for (const [label, rate] of [
      ['per second (what the experiment sees)', (r: RunResult) => r.rate],
      ['per CPU second of the workload (its share of CPU 0 left out)', (r: RunResult) => r.ratePerCpu],
    ] as const) {
      console.log(`    ${label}:`);
      for (const hz of RATES) {
        const s = pairedSlowdown(blocks.map((b) => rate(b.get('alone')!) / rate(b.get(hz)!)));
        const line = `      collector ${String(hz).padStart(3)} Hz: slowdown ${s.ratio.toFixed(4)}×, 95 % CI [${s.lo.toFixed(4)}, ${s.hi.toFixed(4)}] (±${(((s.hi - s.lo) / 2) * 100).toFixed(2)} %), ${blocks.length} pairs`;
        console.log(`${line}: ${verdict(s)}${hz === 10 ? '  ← the goal' : ''}`);
      }
    }
  }
  const load1 = loadavg();
  console.log(`  collector sources: ${sources}; ${((performance.now() - started) / 1000).toFixed(0)} s in all; load average at end ${load1.map((x) => x.toFixed(2)).join(' ')}`);
}

if (process.argv.includes('--collector')) await collectorChild();
else await main();
