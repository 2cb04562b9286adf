/**
 * Counts every partition on its own: watches the scopes directory (scope-file.ts) and, for each
 * partition handed over, opens perf counters by cgroup on every CPU (PERF_FLAG_PID_CGROUP), so two
 * partitions sharing a CPU are still told apart. Its samples carry `partition` and `run` from the
 * scope file, stamped here, not inferred from CPU ownership. The directory is watched (inotify,
 * `fs.watch`) and scanned only when a scope file changes, so a new file is picked up at once (the
 * orchestrator waits for the ack before it starts a workload); a slow poll backs the watch up. A
 * removed file gets a final read whose counts go out with the next batch. Samples of other sources that carry a
 * `cgroup` label of a live scope (eBPF per-cgroup maps) are attributed through {@link attribute}.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';
import { componentLogger } from '../../core/logger.js';
import { parseCgroupMounts, resolveCgroup } from '../perf/cgroup.js';
import { perfConfigSchema } from '../perf/config.js';
import { PerfSource } from '../perf/perf.js';
import type { SampleBatch } from '../sample-batch.js';
import type { SampledTick, SamplerSlot } from '../sampler/native-sampler.js';
import type { Source, SourceSample } from '../source.js';
import { ACK_SUFFIX, scopeFileSchema, type ScopeAck, type ScopeFile } from './scope-file.js';

export interface PartitionScopesOptions {
  /** Directory the orchestrator writes scope files into (created if missing). */
  dir: string;
  /** perf events counted per partition. */
  events: string[];
  /** How often the directory is scanned when it cannot be watched (inotify), ms. @default 100 */
  pollMs?: number;
  /** How often the watched directory is scanned anyway, for a change the watch missed, ms. @default 5000 */
  rescanMs?: number;
  /** Test seam: false scans every `pollMs` without watching, as where inotify is not available. @default true */
  watch?: boolean;
  /** mountinfo used to map cgroup directories to labels. @default /proc/self/mountinfo */
  mountinfo?: string;
  /** Test seam: builds the perf source of one scope. */
  perf?: (scope: ScopeFile) => ScopePerf;
}

type ScopePerf = Pick<PerfSource, 'start' | 'read' | 'shutdown' | 'counting' | 'unsupported'> & Partial<Pick<PerfSource, 'sampledSlots' | 'readSampledInto'>>;

interface Live {
  file: string;
  scope: ScopeFile;
  perf: ScopePerf | null;
  labels: string[];
}

export class PartitionScopes implements Source {
  readonly name = 'perf';
  private readonly live = new Map<string, Live>();
  /** Final counts of scopes removed since the last read. */
  private pending: SourceSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  /** A scan is queued for the next turn of the event loop (a burst of watch events makes one scan). */
  private scanQueued = false;
  private stopped = false;
  private scanning: Promise<void> = Promise.resolve();
  private readonly log = componentLogger('scopes');
  /** Set while the agent samples natively: every change of the scopes' fds goes through it. */
  private reslot: ((change: () => Promise<void>) => Promise<void>) | null = null;
  /** Live scopes by the cgroup labels their samples carry (plain, and as JSON text), rebuilt after a change. */
  private byLabel: { plain: Map<string, ScopeFile>; json: Map<string, ScopeFile> } | null = null;
  /** The scopes read by the native sampler, in slot order, and how many slots each has. */
  private sampled: { live: Live; slots: number }[] = [];

  constructor(private readonly o: PartitionScopesOptions) {}

  /** Partitions counted now, by scope file name. */
  get partitions(): string[] {
    return [...this.live.values()].map((l) => l.scope.partition);
  }

  /** Whether the directory is watched (else polled every `pollMs`), once started. */
  get watching(): boolean {
    return this.watcher !== null;
  }

  async start(): Promise<void> {
    mkdirSync(this.o.dir, { recursive: true });
    this.watcher = this.o.watch === false ? null : this.watchDir();
    await this.scan();
    this.poll();
  }

  /**
   * Watches the directory; null (and the fast poll) where that fails, e.g. no inotify watches left
   * (ENOSPC at fs.inotify.max_user_watches). A 10 Hz poll cost 2.5–3.5 ms CPU/s of the main thread
   * with no scope at all (a readdir and a promise chain per look); the watch costs nothing until a
   * file changes.
   */
  private watchDir(): FSWatcher | null {
    try {
      const w = watch(this.o.dir, { persistent: false }, (_event, file) => {
        // Our own acks (and the orchestrator's temporary names) change nothing to scan for.
        if (file === null || String(file).endsWith('.json')) this.queueScan();
      });
      w.on('error', (err) => {
        // The watch is gone (the directory was removed, the inotify queue overflowed): poll from now on.
        this.log.warn({ err, dir: this.o.dir }, `Watching the scopes directory ${this.o.dir} failed (${err.message}); polling it every ${this.o.pollMs ?? 100} ms instead.`);
        w.close();
        if (this.watcher === w) this.watcher = null;
        this.queueScan();
      });
      return w;
    } catch (err) {
      this.log.warn({ err, dir: this.o.dir }, `The scopes directory ${this.o.dir} cannot be watched (${(err as Error).message}); polling it every ${this.o.pollMs ?? 100} ms instead.`);
      return null;
    }
  }

  /**
   * The poll: every `pollMs` without a watch; with one, a slow rescan every `rescanMs` all the same,
   * because a watch can miss a change without an error: the directory replaced by another of the
   * same name (the watch stays on the old inode), or a file changed by another host on a network
   * file system (NFS has no inotify for remote writes). The cost is one readdir every few seconds.
   */
  private poll(): void {
    if (this.stopped) return;
    const every = this.watcher ? (this.o.rescanMs ?? 5000) : (this.o.pollMs ?? 100);
    this.timer = setTimeout(() => void this.scan().finally(() => this.poll()), every);
    this.timer.unref();
  }

  private queueScan(): void {
    if (this.scanQueued || this.stopped) return;
    this.scanQueued = true;
    setImmediate(() => {
      this.scanQueued = false;
      if (!this.stopped) void this.scan();
    });
  }

  /** Reads every live scope; samples carry partition, run and the cgroup label. */
  async read(): Promise<SourceSample[]> {
    await this.scanning;
    const out = this.pending;
    this.pending = [];
    for (const l of this.live.values()) if (l.perf) out.push(...this.stamp(l, await l.perf.read()));
    return out;
  }

  /** Each live scope's perf groups, read by the native sampler; their samples get partition and run here. */
  sampledSlots(): { slots: SamplerSlot[] } | { reason: string } {
    const slots: SamplerSlot[] = [];
    const sampled: { live: Live; slots: number }[] = [];
    for (const l of this.live.values()) {
      if (!l.perf) continue;
      if (!l.perf.sampledSlots || !l.perf.readSampledInto) return { reason: `partition ${l.scope.partition}'s perf counters have no native read` };
      const r = l.perf.sampledSlots();
      if ('reason' in r) return { reason: `partition ${l.scope.partition}: ${r.reason}` };
      sampled.push({ live: l, slots: r.slots.length });
      slots.push(...r.slots);
    }
    this.sampled = sampled;
    return { slots };
  }

  /** One tick the native sampler read: the final counts of scopes removed since, then every sampled scope's. */
  readSampledInto(batch: SampleBatch, tick: SampledTick, first: number): void {
    for (const s of this.pending.splice(0)) batch.addFields(s);
    let at = first;
    for (const { live, slots } of this.sampled) {
      const from = batch.count;
      live.perf!.readSampledInto!(batch, tick, at);
      batch.stampPartition(from, live.scope.partition, live.scope.run);
      at += slots;
    }
  }

  sampledSlotsChange(reslot: ((change: () => Promise<void>) => Promise<void>) | null): void {
    this.reslot = reslot;
  }

  /** Stamps partition and run on samples whose `cgroup` label belongs to a live scope (eBPF maps keyed by cgroup). */
  attribute(samples: SourceSample[]): SourceSample[] {
    if (this.live.size === 0) return samples;
    const byLabel = this.labelled().plain;
    for (const s of samples) {
      const scope = s.cgroup ? byLabel.get(s.cgroup) : undefined;
      if (scope && s.partition == null) {
        s.partition = scope.partition;
        s.run = scope.run;
      }
    }
    return samples;
  }

  /**
   * Stamps partition and run on the samples a source added to `batch` since `from` whose `cgroup`
   * label belongs to a live scope, in the batch's columns (as attribute() does to objects).
   */
  attributeInBatch(batch: SampleBatch, from: number): void {
    if (this.live.size > 0) batch.stampPartitionByCgroup(from, this.labelled().json);
  }

  private labelled(): { plain: Map<string, ScopeFile>; json: Map<string, ScopeFile> } {
    if (this.byLabel === null) {
      const plain = new Map<string, ScopeFile>();
      for (const l of this.live.values()) for (const label of l.labels) plain.set(label, l.scope);
      this.byLabel = { plain, json: new Map([...plain].map(([label, scope]) => [JSON.stringify(label), scope])) };
    }
    return this.byLabel;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    await this.scanning;
    for (const l of this.live.values()) await l.perf?.shutdown().catch(() => undefined);
    this.live.clear();
  }

  private scan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce()).catch((err: unknown) => this.log.warn({ err }, `Reading the scopes directory ${this.o.dir} failed; trying again.`));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const files = existsSync(this.o.dir) ? readdirSync(this.o.dir).filter((f) => f.endsWith('.json')) : [];
    const removed = [...this.live.keys()].filter((f) => !files.includes(f));
    const added = files.filter((f) => !this.live.has(f));
    if (removed.length === 0 && added.length === 0) return;
    // Sampled natively: the thread is stopped (and its ticks sent) while fds close and open.
    if (this.reslot) await this.reslot(() => this.apply(removed, added));
    else await this.apply(removed, added);
  }

  private async apply(removed: string[], added: string[]): Promise<void> {
    this.byLabel = null;
    for (const file of removed) {
      const l = this.live.get(file)!;
      this.live.delete(file);
      if (l.perf) {
        this.pending.push(...this.stamp(l, await l.perf.read().catch(() => [])));
        await l.perf.shutdown().catch(() => undefined);
      }
      rmSync(join(this.o.dir, file + ACK_SUFFIX), { force: true });
      this.log.info({ partition: l.scope.partition, run: l.scope.run }, `Stopped counting partition ${l.scope.partition}.`);
    }
    for (const file of added) await this.open(file);
    this.byLabel = null;
  }

  private async open(file: string): Promise<void> {
    let scope: ScopeFile;
    try {
      scope = scopeFileSchema.parse(JSON.parse(readFileSync(join(this.o.dir, file), 'utf8')));
    } catch (err) {
      const l: Live = { file, scope: { partition: file, run: null, cgroups: ['/'] }, perf: null, labels: [] };
      this.live.set(file, l);
      this.ack(file, { counting: [], unsupported: [], labels: [], error: `not a scope file: ${(err as Error).message}` });
      return;
    }
    const labels = this.labels(scope.cgroups);
    const perf = this.o.perf ? this.o.perf(scope) : new PerfSource(perfConfigSchema.parse({ events: this.o.events, scope: { kind: 'cgroup', paths: scope.cgroups }, ...(this.o.mountinfo ? { mountinfo: this.o.mountinfo } : {}) }));
    const l: Live = { file, scope, perf: null, labels };
    this.live.set(file, l);
    try {
      await perf.start();
      l.perf = perf;
      this.ack(file, { counting: perf.counting, unsupported: [...perf.unsupported], labels, error: null });
      this.log.info({ partition: scope.partition, run: scope.run, cgroups: scope.cgroups, counting: perf.counting }, `Counting partition ${scope.partition} (${scope.cgroups.join(', ')}).`);
    } catch (err) {
      this.ack(file, { counting: [], unsupported: [...perf.unsupported], labels, error: (err as Error).message });
      this.log.warn({ partition: scope.partition, err }, `Partition ${scope.partition} cannot be counted: ${(err as Error).message}`);
    }
  }

  private stamp(l: Live, samples: SourceSample[]): SourceSample[] {
    for (const s of samples) {
      s.partition = l.scope.partition;
      s.run = l.scope.run;
    }
    return samples;
  }

  /** The labels a cgroup directory carries in samples: its path in the perf hierarchy and in cgroup v2 (eBPF). */
  private labels(dirs: string[]): string[] {
    let mounts: ReturnType<typeof parseCgroupMounts> = [];
    try {
      mounts = parseCgroupMounts(readFileSync(this.o.mountinfo ?? '/proc/self/mountinfo', 'utf8'));
    } catch {
      return [];
    }
    const out = new Set<string>();
    for (const dir of dirs) {
      try {
        out.add(resolveCgroup(dir, mounts).label);
      } catch {
        // not in the perf hierarchy: perf reports why when it opens
      }
      const v2 = mounts.find((m) => m.version === 2 && (dir === m.mountpoint || dir.startsWith(`${m.mountpoint}/`)));
      if (v2) out.add(`/${relative(v2.mountpoint, dir)}`);
    }
    return [...out];
  }

  private ack(file: string, ack: ScopeAck): void {
    const path = join(this.o.dir, file + ACK_SUFFIX);
    writeFileSync(`${path}.tmp`, JSON.stringify(ack));
    renameSync(`${path}.tmp`, path);
  }
}
