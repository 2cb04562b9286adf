/**
 * The perf source: hardware, software, cache, tracepoint and raw PMU counters through
 * perf_event_open, per CPU, per cgroup (on each CPU) or per process. Each target's events form one
 * group read in one syscall; each sample is the count over the interval, scaled for multiplexing,
 * with the scaling ratio in `scale`. Events this machine cannot count are reported once, in words,
 * and the others go on; start-up fails only when nothing at all can be counted.
 */
import { readFileSync } from 'node:fs';
import { componentLogger } from '../../core/logger.js';
import type { SampleBatch } from '../sample-batch.js';
import type { SampledTick, SamplerSlot } from '../sampler/native-sampler.js';
import type { Source, SourceSample } from '../source.js';
import type { PerfConfig } from './config.js';
import { describeOpenError } from './errno.js';
import { parseEventName, type EventSpec } from './events.js';
import { openGroups, type CounterGroup, type CounterTarget, type EventToOpen } from './group.js';
import { loadPerfNative, type NativeResult } from './native.js';
import { resolveEvent } from './resolve.js';
import { expandScope } from './targets.js';
import { locateTracefs } from './tracefs.js';

/** An event that is not counted, and why (one sentence). */
export interface EventProblem {
  event: string;
  reason: string;
}

export class PerfSource implements Source {
  readonly name = 'perf';
  private readonly specs: EventSpec[];
  private groups: CounterGroup[] = [];
  private readonly problems: EventProblem[] = [];
  private readonly log = componentLogger('perf');
  private metricJson: string[] | null = null;
  private readonly labelJson = new Map<CounterGroup, string>();
  /** The groups as the native sampler reads them (slot i: group i), fixed when sampling starts. */
  private sampled: (CounterGroup | null)[] | null = null;

  /** @param nativeResult the perf_event_open adapter; the default loads it through koffi. */
  constructor(private readonly config: PerfConfig, private readonly nativeResult: NativeResult = loadPerfNative()) {
    this.specs = config.events.map(parseEventName);
  }

  /** Events that could not be counted (on all or some targets), each with the reason in words. */
  get unsupported(): readonly EventProblem[] {
    return this.problems;
  }

  /** Names of the events counted on at least one target. */
  get counting(): string[] {
    const open = new Set<number>();
    for (const g of this.groups) for (const i of g.members.values()) open.add(i);
    return this.specs.filter((_s, i) => open.has(i)).map((s) => s.name);
  }

  async start(): Promise<void> {
    if (this.groups.length > 0) return;
    const r = this.nativeResult;
    if (!r.ok) throw new Error(`The perf source cannot run here: ${r.reason}.`);
    let tracefs: Promise<string> | undefined;
    const ctx = {
      sysfs: this.config.sysfs,
      tracefs: () => (tracefs ??= locateTracefs({ override: this.config.tracefs, mount: this.config.mountTracefs, native: r.native })),
    };
    const toOpen: EventToOpen[] = [];
    for (const [index, spec] of this.specs.entries()) {
      try {
        toOpen.push({ index, attr: await resolveEvent(spec, ctx) });
      } catch (err) {
        this.report(spec.name, (err as Error).message.startsWith(`${spec.name}:`) ? (err as Error).message : `${spec.name}: ${(err as Error).message}`);
      }
    }
    const { targets, release } = await expandScope(this.config);
    const failed = new Map<number, { errno: number; targets: CounterTarget[] }>();
    try {
      for (const target of targets) {
        const { groups, failures } = openGroups(r.native, target, toOpen);
        this.groups.push(...groups);
        for (const f of failures) {
          const entry = failed.get(f.index) ?? { errno: f.errno, targets: [] };
          entry.targets.push(target);
          failed.set(f.index, entry);
        }
      }
    } catch (err) {
      await this.shutdown();
      throw err;
    } finally {
      release();
    }
    const paranoid = readParanoid();
    for (const [index, { errno, targets: where }] of failed) {
      const reason = describeOpenError(this.specs[index]!, errno, paranoid);
      const listed = where.slice(0, 8).map(describeTarget).join(', ') + (where.length > 8 ? ', …' : '');
      const partly = where.length < targets.length ? ` (on ${where.length} of ${targets.length} targets: ${listed})` : '';
      this.report(this.specs[index]!.name, reason + partly);
    }
    if (this.groups.length === 0) {
      throw new Error(`The perf source could not open any of its events: ${this.problems.map((p) => p.reason).join('; ')}.`);
    }
    for (const g of this.groups) g.readDeltas(); // baseline: the first read() returns deltas since start
    this.log.info({ counting: this.counting, groups: this.groups.length }, `Counting ${this.counting.length} perf events in ${this.groups.length} groups.`);
  }

  async read(): Promise<SourceSample[]> {
    const out: SourceSample[] = [];
    this.readGroups((metric, value, cpu, scale, g) => {
      const sample: SourceSample = { metric, value, cpu, scale };
      const { cgroup, comm } = g.target.labels;
      if (cgroup !== undefined) sample.cgroup = cgroup;
      if (comm !== undefined) sample.comm = comm;
      out.push(sample);
    });
    return out;
  }

  /** The agent's path: each count goes straight into the batch, names and labels pre-encoded once. */
  readInto(batch: SampleBatch): void {
    this.metricJson ??= this.specs.map((s) => batch.json(s.name));
    const metricJson = this.metricJson;
    this.readGroups((_metric, value, cpu, scale, g, index) => {
      let labels = this.labelJson.get(g);
      if (labels === undefined) this.labelJson.set(g, (labels = batch.encodeLabels({ cgroup: g.target.labels.cgroup, comm: g.target.labels.comm })));
      batch.addEncoded(metricJson[index]!, value, cpu, scale, labels);
    });
  }

  /**
   * Each group's leader, read with read(2): the same bytes `readDeltas()` reads. Per-process groups
   * stay on the JS path: whether their task exited is asked of /proc before each read.
   */
  sampledSlots(): { slots: SamplerSlot[] } | { reason: string } {
    if (this.groups.some((g) => g.target.pid > 0 && g.target.cpu === -1)) return { reason: 'per-process perf groups are read on the JS timer (their exit is checked before each read)' };
    this.sampled = [...this.groups];
    return { slots: this.groups.map((g) => ({ fd: g.leaderFd, pread: false, size: g.readSize })) };
  }

  /** `readInto` for one tick the native sampler read: the same deltas and samples, from its bytes. */
  readSampledInto(batch: SampleBatch, tick: SampledTick, first: number): void {
    const sampled = this.sampled;
    if (sampled === null) throw new Error('readSampledInto() before sampledSlots()');
    this.metricJson ??= this.specs.map((s) => batch.json(s.name));
    const metricJson = this.metricJson;
    for (let gi = 0; gi < sampled.length; gi++) {
      const g = sampled[gi];
      if (!g) continue;
      let n = -1;
      try {
        n = g.decodeDeltas(tick.data, tick.start[first + gi]!, tick.length[first + gi]!);
      } catch (err) {
        this.log.error({ err, target: describeTarget(g.target) }, `Reading the perf counters of ${describeTarget(g.target)} failed; they are no longer read.`);
      }
      if (n < 0) {
        sampled[gi] = null; // the sampler thread goes on reading its fd (0 bytes); the fd closes at shutdown
        this.log.warn({ target: describeTarget(g.target) }, `The perf counters of ${describeTarget(g.target)} stopped (its CPU went offline); they are no longer read.`);
        continue;
      }
      let labels = this.labelJson.get(g);
      if (labels === undefined) this.labelJson.set(g, (labels = batch.encodeLabels({ cgroup: g.target.labels.cgroup, comm: g.target.labels.comm })));
      const cpu = g.target.labels.cpu;
      for (let i = 0; i < n; i++) {
        const index = g.deltaIndex[i]!;
        if (index >= 0) batch.addEncoded(metricJson[index]!, g.deltas[i]!, cpu, g.scale, labels);
      }
    }
  }

  private readGroups(emit: (metric: string, value: number, cpu: number, scale: number, g: CounterGroup, index: number) => void): void {
    for (let gi = 0; gi < this.groups.length; gi++) {
      const g = this.groups[gi]!;
      let n = -1;
      let finished = false;
      try {
        finished = g.finished; // checked before the read, so the read holds the final counts
        n = g.readDeltas();
      } catch (err) {
        this.log.error({ err, target: describeTarget(g.target) }, `Reading the perf counters of ${describeTarget(g.target)} failed; they are no longer read.`);
      }
      if (n < 0 || finished) {
        this.groups.splice(gi--, 1);
        g.close();
        this.labelJson.delete(g);
        this.log.warn({ target: describeTarget(g.target) }, `The perf counters of ${describeTarget(g.target)} stopped (its process exited or its CPU went offline); they are no longer read.`);
        if (n < 0) continue;
      }
      const cpu = g.target.labels.cpu;
      for (let i = 0; i < n; i++) {
        const index = g.deltaIndex[i]!;
        if (index >= 0) emit(this.specs[index]!.name, g.deltas[i]!, cpu, g.scale, g, index);
      }
    }
  }

  async shutdown(): Promise<void> {
    for (const g of this.groups.splice(0)) g.close();
  }

  private report(event: string, reason: string): void {
    if (this.problems.some((p) => p.event === event)) return;
    this.problems.push({ event, reason });
    this.log.warn({ event }, `${reason}; the other perf events go on.`);
  }
}

function describeTarget(t: CounterTarget): string {
  if (t.labels.comm !== undefined) return `process ${t.labels.comm}`;
  if (t.labels.cgroup !== undefined) return `cgroup ${t.labels.cgroup} on cpu ${t.cpu}`;
  return `cpu ${t.cpu}`;
}

function readParanoid(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
  } catch {
    return undefined;
  }
}
