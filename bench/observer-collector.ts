/**
 * The observer-effect bench's collector: a process of its own with the default measurement set of
 * an experiment (perf events on every CPU, procfs, the default eBPF programs; whatever of it this
 * machine allows) that throws its batches away. It stays up for the whole bench (its JIT warm, the
 * eBPF objects built once) and starts and stops sampling on command: "alone" means no perf event
 * open and no BPF program attached, not a paused collector.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pinProcessThreads } from '../collectors/housekeeping.js';

/**
 * Child mode: starts the collector (default measurement set at the given rate) on "start <hz>",
 * stops it on "stop", moves all its threads to CPUs on "affinity <cpu list|all>" (the
 * collector.housekeepingCpus setting), answering each line when done; exits on end of input.
 */
async function collectorChild(only: string[]): Promise<void> {
  const { CollectorAgent } = await import('../collectors/agent.js');
  const { buildSources } = await import('../collectors/build.js');
  const { SequenceFile } = await import('../collectors/sequence.js');
  const { DEFAULT_EBPF_PROGRAMS, DEFAULT_PERF_EVENTS } = await import('../collectors/measure/schema.js');
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-observer-'));
  const options = { perf: { events: [...DEFAULT_PERF_EVENTS] }, ebpf: { programs: [...DEFAULT_EBPF_PROGRAMS] } };
  // Which sources run here, found once.
  const usable: string[] = [];
  for (const name of only) {
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
    } else if (command === 'affinity' && rate !== undefined) {
      // The whole process, the sampler thread included (collectors/housekeeping.ts); "all": every online CPU.
      const list = rate === 'all' ? readFileSync('/sys/devices/system/cpu/online', 'utf8').trim() : rate;
      try {
        const threads = pinProcessThreads(list, 'observer-effect --housekeeping');
        reply(`pinned ${threads.length} threads to ${list}`);
      } catch (err) {
        reply(`error: ${(err as Error).message}`);
      }
    } else if (command === 'stop' && agent !== null) {
      await agent.shutdown();
      agent = null;
      reply('stopped');
    } else reply(`error: unexpected "${line}"`);
  }
  if (agent) await agent.shutdown();
  rmSync(dir, { recursive: true, force: true });
}

/** One condition of a block: alone (hz null), or the collector at `hz` with its threads on `cpus` ("all": any CPU). */
export interface Condition {
  label: string;
  hz: number | null;
  cpus: string;
}

/** The conditions: alone, each rate anywhere, and each rate on the housekeeping CPUs (when given). */
export function conditions(rates: readonly number[], housekeeping: string | null): Condition[] {
  return [
    { label: 'alone', hz: null, cpus: 'all' },
    ...rates.map((hz) => ({ label: `${hz} Hz`, hz, cpus: 'all' })),
    ...(housekeeping === null ? [] : rates.map((hz) => ({ label: `${hz} Hz on CPU ${housekeeping}`, hz, cpus: housekeeping }))),
  ];
}

/**
 * The method's own check (`--placebo`): a condition switched like the others (its process
 * continued for the window, stopped after it) with sampling off, so the collector process is idle.
 */
export const PLACEBO: Condition = { label: 'placebo (sampling off)', hz: null, cpus: 'all' };

/** The default set's sources. */
export const SOURCES = ['perf', 'ebpf', 'procfs'];

/** The collector process, driven line by line. */
export class Collector {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  /** The rate it samples at now, or null when stopped. */
  running: number | null = null;
  /** @param sources the collector's sources (a part of the default set, to find what costs). */
  constructor(sources: readonly string[] = SOURCES) {
    this.child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--collector', sources.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  private async ask(line: string): Promise<string> {
    this.resume(); // a stopped process answers nothing
    this.child.stdin!.write(`${line}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`the collector process ended before answering "${line}"`);
    if (r.value.startsWith('error')) throw new Error(`the collector process answered "${r.value}" to "${line}"`);
    return r.value;
  }
  /** Starts sampling at `hz`: the sources used and the agent's mode. */
  async start(hz: number): Promise<string> {
    const answer = await this.ask(`start ${hz}`);
    this.running = hz;
    return answer;
  }
  async stop(): Promise<void> {
    await this.ask('stop');
    this.running = null;
  }
  /** CPU time of all the collector process' threads so far, ns (their schedstat). */
  cpuNs(): number {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${this.child.pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${this.child.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns;
  }
  /** Whether its process is stopped (SIGSTOP). */
  paused = false;
  /**
   * Stops the collector's process (SIGSTOP): all its threads, so no tick is read and no syscall
   * made, while its perf events stay open and its BPF programs attached (they keep running in the
   * kernel on the events they count). Immediate, unlike a stop (40–150 ms).
   */
  pause(): void {
    if (this.paused) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }
  /** Continues a paused collector (SIGCONT): its timers fire once for the ticks it missed. */
  resume(): void {
    if (!this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }
  /** The CPUs all its threads run on now ("all": any CPU). */
  cpus = 'all';
  /** Moves every thread of the collector process onto `cpus` (a cpu list, or "all"), as `collector.housekeepingCpus` does. */
  async affinity(cpus: string): Promise<void> {
    if (this.cpus === cpus) return;
    await this.ask(`affinity ${cpus}`);
    this.cpus = cpus;
  }
  /** Brings the collector to `hz` (null: stopped); false when it already was there. */
  async set(hz: number | null): Promise<boolean> {
    if (this.running === hz) return false;
    if (this.running !== null) await this.stop();
    if (hz !== null) await this.start(hz);
    return true;
  }
  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.resume();
    this.child.stdin!.end();
    await exited;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--collector')) {
  process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
  const only = process.argv[process.argv.indexOf('--collector') + 1]?.split(',') ?? SOURCES;
  await collectorChild(only.filter((x) => SOURCES.includes(x)));
}
