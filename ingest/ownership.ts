/**
 * Who owned a node (and one of its CPUs) at a time: an interval index built from `runs` and
 * `partitions` records, in whatever order they arrive. Pure and synchronous; ingest feeds it every
 * control record and asks it for each sample's `run` and `partition`.
 *
 * Intervals are half-open in time: a run owns its nodes from its `start` (inclusive) to its
 * `end`/`fail`/`abort` (exclusive; open while no such record is known); a partition owns the CPUs of
 * its latest `create`/`resize` at or before ts, and nothing from its `destroy`/`fail` on. Applying
 * the same record twice changes nothing, so redelivered control records are harmless.
 */
import type { PartitionRecord, RunRecord } from '../schema/records.js';
import { parseCpuRanges, type CpuRanges } from '../core/cpu-list.js';

interface RunSpan {
  run: string;
  nodes: Set<string>;
  start: bigint | null;
  stop: bigint | null;
}

/** A node's runs sorted by start, with the running maximum of their stops for early exits. */
interface NodeRuns {
  all: Set<RunSpan>;
  sorted: RunSpan[] | null; // null: rebuild before the next lookup
  maxStop: bigint[];
}

/** Stands for "no stop known yet" in NodeRuns.maxStop. */
const OPEN = 2n ** 64n;

interface PartitionStep {
  ts: bigint;
  action: PartitionRecord['action'];
  cpus: CpuRanges;
  run: string | null;
}

/** What ingest writes into a sample: the owners found, null where none is known. */
export interface Owners {
  run: string | null;
  partition: string | null;
}

export class OwnershipIndex {
  private readonly runs = new Map<string, RunSpan>();
  private readonly runsByNode = new Map<string, NodeRuns>();
  /** node → partition → steps sorted by ts. */
  private readonly partitions = new Map<string, Map<string, PartitionStep[]>>();
  /** node → CPU owners at each change point, rebuilt lazily after a partition record changed it. */
  private readonly timelines = new Map<string, Timeline>();

  /** Records a run phase. Out-of-order phases (an `end` before its `start`) are fine. */
  applyRun(r: RunRecord): void {
    let span = this.runs.get(r.run);
    if (!span) {
      span = { run: r.run, nodes: new Set(), start: null, stop: null };
      this.runs.set(r.run, span);
    }
    for (const node of r.nodes.split(',').map((n) => n.trim()).filter((n) => n !== '')) span.nodes.add(node);
    if (r.phase === 'start') span.start = span.start === null || r.ts < span.start ? r.ts : span.start;
    else span.stop = span.stop === null || r.ts < span.stop ? r.ts : span.stop;
    for (const node of span.nodes) {
      let runs = this.runsByNode.get(node);
      if (!runs) this.runsByNode.set(node, (runs = { all: new Set(), sorted: null, maxStop: [] }));
      runs.all.add(span);
      runs.sorted = null;
    }
  }

  /**
   * Records a partition action.
   * @throws Error (after recording the action as owning no CPU) when its `cpus` is not a cpu list.
   */
  applyPartition(p: PartitionRecord): void {
    let byName = this.partitions.get(p.node);
    if (!byName) this.partitions.set(p.node, (byName = new Map()));
    let steps = byName.get(p.partition);
    if (!steps) byName.set(p.partition, (steps = []));
    if (steps.some((s) => s.ts === p.ts && s.action === p.action)) return;
    let cpus: CpuRanges = [];
    let problem: Error | null = null;
    if (p.action === 'create' || p.action === 'resize') {
      try {
        cpus = parseCpuRanges(p.cpus);
      } catch (err) {
        problem = new Error(`partition ${p.partition} on node ${p.node} (${p.action} at ${p.ts}): ${(err as Error).message}`);
      }
    }
    const step: PartitionStep = { ts: p.ts, action: p.action, cpus, run: p.run ?? null };
    let at = steps.length;
    while (at > 0 && steps[at - 1]!.ts > p.ts) at--;
    steps.splice(at, 0, step);
    this.timelines.delete(p.node);
    if (problem) throw problem;
  }

  /** Whether any run or partition record named `node`: a node never named has no owner at any time. */
  knowsNode(node: string): boolean {
    return this.runsByNode.has(node) || this.partitions.has(node);
  }

  /** The run that owned `node` at `ts`: of the runs open then, the one started last. */
  runAt(node: string, ts: bigint): string | null {
    const runs = this.runsByNode.get(node);
    if (!runs) return null;
    const sorted = runs.sorted ?? sortRuns(runs);
    for (let i = countAtOrBefore(sorted.length, (k) => sorted[k]!.start!, ts) - 1; i >= 0; i--) {
      if (runs.maxStop[i]! <= ts) break; // every run started this early has stopped by ts
      const span = sorted[i]!;
      if (span.stop === null || ts < span.stop) return span.run;
    }
    return null;
  }

  /**
   * The partition whose CPUs included `cpu` on `node` at `ts` (of nested claims the innermost; a
   * CPU shared by sibling partitions belongs to none), with the run its action named. Node-wide
   * values (cpu -1) belong to no partition.
   */
  partitionAt(node: string, cpu: number, ts: bigint): { partition: string; run: string | null } | null {
    if (cpu < 0) return null;
    const byName = this.partitions.get(node);
    if (!byName) return null;
    let timeline = this.timelines.get(node);
    if (!timeline) this.timelines.set(node, (timeline = buildTimeline(byName)));
    const times = timeline.times;
    const k = countAtOrBefore(times.length, (i) => times[i]!, ts);
    return k === 0 ? null : (timeline.owners[k - 1]![cpu] ?? null);
  }

  /**
   * The owners of a sample: its partition by node+CPU, its run by node (else the run its partition
   * was created for). Values the sample already carries are kept.
   */
  ownersOf(s: { node: string; cpu: number; ts: bigint; run?: string | null; partition?: string | null }): Owners {
    const part = s.partition == null || s.run == null ? this.partitionAt(s.node, s.cpu, s.ts) : null;
    return {
      partition: s.partition ?? part?.partition ?? null,
      run: s.run ?? this.runAt(s.node, s.ts) ?? part?.run ?? null,
    };
  }

  /** Runs open at `ts` on any node (started at or before, not stopped yet), with their nodes. */
  activeRunsAt(ts: bigint): { run: string; nodes: string[] }[] {
    const out: { run: string; nodes: string[] }[] = [];
    for (const span of this.runs.values()) {
      if (span.start !== null && span.start <= ts && (span.stop === null || ts < span.stop)) out.push({ run: span.run, nodes: [...span.nodes] });
    }
    return out;
  }

  /** Number of runs and partition actions held (for metrics and tests). */
  get size(): { runs: number; partitionSteps: number } {
    let partitionSteps = 0;
    for (const byName of this.partitions.values()) for (const steps of byName.values()) partitionSteps += steps.length;
    return { runs: this.runs.size, partitionSteps };
  }
}

/** Sorts a node's started runs by (start, run) and computes the running maximum of their stops. */
function sortRuns(runs: NodeRuns): RunSpan[] {
  const sorted = [...runs.all].filter((r) => r.start !== null).sort((a, b) => (a.start! < b.start! ? -1 : a.start! > b.start! ? 1 : a.run < b.run ? -1 : a.run > b.run ? 1 : 0));
  let max = -1n;
  runs.maxStop = sorted.map((r) => (max = (r.stop ?? OPEN) > max ? (r.stop ?? OPEN) : max));
  runs.sorted = sorted;
  return sorted;
}

/** CPU owners of a node after each change point: owners[k][cpu] holds from times[k] to times[k+1]. */
interface Timeline {
  times: bigint[];
  owners: ({ partition: string; run: string | null } | undefined)[][];
}

/**
 * Replays every partition's steps in time order. At each change point each CPU goes to the live
 * partition that claims it, and a CPU claimed by several to the one changed last when its claim is
 * nested in all the others (a VM inside an enclave, a cpuset inside a wider one). Sibling
 * partitions sharing a CPU (equal or crossing claims) leave it to none: a per-CPU value there
 * cannot be split between them, so it stays node-wide (the collector counts each such partition on
 * its own by cgroup and stamps its samples itself).
 */
function buildTimeline(byName: Map<string, PartitionStep[]>): Timeline {
  const all = [...byName].flatMap(([partition, steps]) => steps.map((step) => ({ partition, step })));
  all.sort((a, b) => (a.step.ts < b.step.ts ? -1 : a.step.ts > b.step.ts ? 1 : 0)); // stable: keeps each partition's order
  const current = new Map<string, PartitionStep>();
  const timeline: Timeline = { times: [], owners: [] };
  for (let i = 0; i < all.length; ) {
    const ts = all[i]!.step.ts;
    for (; i < all.length && all[i]!.step.ts === ts; i++) current.set(all[i]!.partition, all[i]!.step);
    const live = [...current].filter(([, st]) => st.action === 'create' || st.action === 'resize');
    live.sort(([an, a], [bn, b]) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : an < bn ? -1 : an > bn ? 1 : 0));
    const claims: { partition: string; step: PartitionStep; cpus: Set<number> }[][] = [];
    const sets = new Map<string, Set<number>>();
    for (const [partition, st] of live) {
      const set = new Set<number>();
      for (const [lo, hi] of st.cpus) for (let cpu = lo; cpu <= hi; cpu++) set.add(cpu);
      sets.set(partition, set);
      for (const cpu of set) (claims[cpu] ??= []).push({ partition, step: st, cpus: set });
    }
    const owners: Timeline['owners'][number] = [];
    claims.forEach((list, cpu) => {
      const last = list[list.length - 1]!;
      const nested = list.slice(0, -1).every((o) => last.cpus.size < o.cpus.size && [...last.cpus].every((c) => o.cpus.has(c)));
      if (nested) owners[cpu] = { partition: last.partition, run: last.step.run };
    });
    timeline.times.push(ts);
    timeline.owners.push(owners);
  }
  return timeline;
}

/** How many of n ascending keys are <= ts (binary search). */
function countAtOrBefore(n: number, key: (i: number) => bigint, ts: bigint): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(mid) <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
