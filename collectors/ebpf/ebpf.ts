/**
 * The ebpf source: loads CO-RE BPF programs through libbpf, and each interval reads their maps into
 * samples as described by their ebpf_exporter-style YAML (counters as deltas, histograms as
 * cumulative `le` buckets). Start-up builds the shipped programs on first use (on-demand.ts) and fails,
 * saying what to install, when libbpf, an object file or its config is missing, or the kernel refuses a program; after start-up a map that cannot be read
 * is logged and skipped for that interval.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentLogger } from '../../core/logger.js';
import type { SampleBatch } from '../sample-batch.js';
import { BPF_DELTA_BYTES, loadSampler, type NativeBpfMap, type SampledTick, type SamplerResult, type SamplerSlot } from '../sampler/native-sampler.js';
import type { Source, SourceSample } from '../source.js';
import type { EbpfConfig } from './config.js';
import { Decoders, findCgroup2Root, scanCgroups } from './decoders.js';
import { cgroupLabel, GoneCgroups, type CgroupKeyedMap, type PruneResult } from './gone-cgroups.js';
import { defaultConfigDir, defaultObjectDir } from './locate.js';
import { assertKnownPrograms, buildShippedPrograms } from './on-demand.js';
import { DeltaReader } from './delta-reader.js';
import { DroppedKeys, type DroppedKeyCounts } from './dropped-keys.js';
import { cgroupSlots, countCgroups, metricEntries, type MapNeeds } from './map-sizing.js';
import { PER_CPU_TYPES, readMap } from './map-read.js';
import { labelBytes, MetricReader } from './metric-reader.js';
import { parseMetricsConfig } from './metrics-config.js';
import { loadBpfNative, type BpfMapInfo, type BpfNative, type BpfNativeResult, type BpfObject } from './native.js';

type MetricSpec = ConstructorParameters<typeof MetricReader>[0];

interface LoadedMetric {
  metric: MetricSpec;
  /** The JS reader: used where the native differencing is not available (no sampler library, no batch lookup). */
  reader: MetricReader;
  map: BpfMapInfo;
  /** The native differencing of the map and its decoder, where available. */
  native: { state: NativeBpfMap; reader: DeltaReader } | null;
  /** Why the native differencing is not used for this map. */
  why: string | null;
}

/** How often the keys of cgroups that are gone are deleted from the maps (gone-cgroups.ts). */
export const PRUNE_EVERY_MS = 60_000;

/** Errnos of a batch lookup the kernel or map type does not have: EINVAL, EOPNOTSUPP, ENOTSUPP. */
const NO_BATCH = new Set([22, 95, 524]);

export class EbpfSource implements Source {
  readonly name = 'ebpf';
  private objects: BpfObject[] = [];
  private metrics: LoadedMetric[] = [];
  private readonly log = componentLogger('ebpf');
  private dropped: DroppedKeys | null = null;
  private cgroupRoot: string | null = null;
  private gone = new GoneCgroups();
  private pruneTimer: NodeJS.Timeout | null = null;
  /** Wall time (ns) of the last read decoded: a tick's time, or now on the JS timer. */
  private decodedUntil = 0n;

  /** Where the native differencing writes a read's deltas on the JS timer. */
  private deltas: Buffer = Buffer.alloc(0);

  /**
   * @param nativeResult the libbpf adapter; the default loads it through koffi.
   * @param sampler the native sampler library, whose BPF map differencing (bpf-deltas.c) reads the
   *   maps on the sampler thread and on the JS timer alike; without it, maps are read and decoded in JS.
   */
  constructor(
    private readonly config: EbpfConfig,
    private readonly nativeResult: BpfNativeResult = loadBpfNative(),
    private readonly sampler: () => Promise<SamplerResult> = loadSampler,
  ) {}

  /** Names of the metrics read each interval. */
  get metricNames(): string[] {
    return this.metrics.map((m) => m.reader.name);
  }

  async start(): Promise<void> {
    if (this.objects.length > 0) return;
    const objectDir = this.config.objectDir ?? defaultObjectDir();
    const configDir = this.config.configDir ?? defaultConfigDir();
    assertKnownPrograms(this.config.programs, configDir);
    const r = this.nativeResult;
    if (!r.ok) throw new Error(`The ebpf source is not available here: ${r.reason}.`);
    // The package's own build folder is filled on first use; a configured objectDir is the user's to fill.
    if (this.config.objectDir === undefined) await buildShippedPrograms(this.config.programs, objectDir);
    const cgroupRoot = (this.cgroupRoot = safeCgroupRoot(this.config.mountinfo));
    const decoders = new Decoders({ kallsyms: this.config.kallsyms, partitions: this.config.partitions, cgroupRoot });
    const needs: MapNeeds = { cpus: r.native.possibleCpus(), cgroups: countCgroups(cgroupRoot) };
    this.dropped = new DroppedKeys(r.native);
    // Everything is checked before anything is loaded into the kernel.
    const plans = this.config.programs.map((program) => {
      const object = join(objectDir, `${program}.bpf.o`);
      const yaml = join(configDir, `${program}.yaml`);
      if (!existsSync(object)) {
        throw new Error(
          `The ebpf source is not available here: ${object} is missing. Build the programs with collectors/ebpf/build.sh (needs the Debian packages clang, libbpf-dev and bpftool, and a kernel with BTF).`,
        );
      }
      if (!existsSync(yaml)) throw new Error(`The ebpf program ${program} has no metric config: ${yaml} is missing.`);
      return { program, object, metrics: parseMetricsConfig(readFileSync(yaml, 'utf8'), yaml) };
    });
    try {
      for (const plan of plans) {
        // Metric maps sized for this node's CPUs and cgroups (map-sizing.ts); other maps as compiled.
        const sizes = new Map([...plan.metrics.metrics.counters.map((config) => [config.name, metricEntries({ kind: 'counter', config }, needs)] as const), ...plan.metrics.metrics.histograms.map((config) => [config.name, metricEntries({ kind: 'histogram', config }, needs)] as const)]);
        const obj = r.native.openObject(plan.object, (m) => sizes.get(m.name) ?? undefined);
        this.objects.push(obj);
        this.dropped.add(plan.program, obj);
        const wanted = [
          ...plan.metrics.metrics.counters.map((config) => ({ kind: 'counter' as const, config })),
          ...plan.metrics.metrics.histograms.map((config) => ({ kind: 'histogram' as const, config })),
        ];
        for (const metric of wanted) {
          const map = obj.maps.find((m) => m.name === metric.config.name);
          if (!map) throw new Error(`${plan.object} has no map ${metric.config.name} for the metric of that name (its maps: ${obj.maps.map((m) => m.name).join(', ')})`);
          if (labelBytes(metric.config.labels) !== map.keySize) {
            throw new Error(`The labels of metric ${metric.config.name} describe ${labelBytes(metric.config.labels)} key bytes, but map ${map.name} of ${plan.object} has ${map.keySize}-byte keys`);
          }
          if (map.valueSize !== 8) throw new Error(`Map ${map.name} of ${plan.object} has ${map.valueSize}-byte values; metrics need u64 values`);
          this.metrics.push({ metric, reader: new MetricReader(metric, decoders), map, native: null, why: null });
        }
        const sized = obj.maps.filter((m) => sizes.has(m.name)).map((m) => `${m.name} ${m.maxEntries}`);
        this.log.info({ program: plan.program, programs: obj.programs, cpus: needs.cpus, cgroupSlots: cgroupSlots(needs.cgroups) }, `Loaded eBPF program ${plan.program} (${obj.programs.join(', ')}; map entries: ${sized.join(', ')}).`);
      }
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    const lib = await this.sampler();
    for (const m of this.metrics) {
      if (lib.ok) {
        const state = lib.lib.bpfMap(m.map.fd, m.map.keySize, m.map.valueSize, PER_CPU_TYPES.has(m.map.type) ? r.native.possibleCpus() : 1, m.map.maxEntries);
        const baseline = state.read(Buffer.alloc(0));
        if (baseline >= 0) {
          m.native = { state, reader: new DeltaReader(m.metric, decoders, m.map.keySize, (from, out) => state.keys(from, out)) };
          continue;
        }
        state.free();
        m.why = NO_BATCH.has(-baseline) ? `BPF map ${m.map.name} has no batch lookup on this kernel` : `reading BPF map ${m.map.name} natively failed (errno ${-baseline})`;
      } else m.why = lib.reason;
      m.reader.read(readMap(r.native, m.map)); // baseline
    }
    const most = Math.max(0, ...this.metrics.map((m) => (m.native ? m.map.maxEntries * BPF_DELTA_BYTES : 0)));
    this.deltas = Buffer.alloc(most);
    if (cgroupRoot !== null && this.metrics.some((m) => cgroupLabel(m.metric.config.labels) !== null)) {
      this.pruneTimer = setInterval(() => {
        try {
          this.pruneGoneCgroups();
        } catch (err) {
          this.log.warn({ err }, 'Deleting the BPF map keys of cgroups that are gone failed; trying again later.');
        }
      }, PRUNE_EVERY_MS);
      this.pruneTimer.unref();
    }
  }

  /**
   * Deletes the map keys of cgroups missing from this walk of the cgroup tree and the one before
   * (gone-cgroups.ts); null when there is no cgroup v2 tree or nothing is loaded. Done once a minute.
   */
  pruneGoneCgroups(): PruneResult | null {
    const r = this.nativeResult;
    const root = this.cgroupRoot;
    if (!r.ok || root === null || this.objects.length === 0) return null;
    const maps: CgroupKeyedMap[] = [];
    for (const m of this.metrics) {
      const at = cgroupLabel(m.metric.config.labels);
      if (at !== null) maps.push({ map: m.map, ...at, native: m.native });
    }
    const result = this.gone.prune(maps, r.native, () => new Set(scanCgroups(root).keys()), this.decodedUntil);
    if (result.deleted > 0) this.log.debug({ deleted: result.deleted }, `Deleted ${result.deleted} BPF map keys of cgroups that are gone.`);
    return result;
  }

  /** Per metric map: key indices handed out by its native state, and keys it holds now (forgotten ones left out). */
  get nativeKeys(): Record<string, { indices: number; live: number; series: number }> {
    return Object.fromEntries(this.metrics.filter((m) => m.native).map((m) => [m.map.name, { indices: m.native!.state.count(), live: m.native!.state.live(), series: m.native!.reader.seriesCount }]));
  }

  async read(): Promise<SourceSample[]> {
    const r = this.nativeResult;
    if (!r.ok) return [];
    this.decodedUntil = BigInt(Date.now()) * 1_000_000n;
    const out: SourceSample[] = [];
    for (const m of this.metrics) {
      try {
        if (m.native) out.push(...m.native.reader.read(this.deltas, 0, this.readNative(m)));
        else out.push(...m.reader.read(readMap(r.native, m.map)));
      } catch (err) {
        this.log.error({ err, map: m.map.name }, `Reading BPF map ${m.map.name} failed; its metric is skipped this interval.`);
      }
    }
    return out;
  }

  /** The agent's JS timer path: each map read through its native differencing where it has one, straight into the batch. */
  readInto(batch: SampleBatch): void {
    const r = this.nativeResult;
    if (!r.ok) return;
    this.decodedUntil = BigInt(Date.now()) * 1_000_000n;
    for (const m of this.metrics) {
      const mark = batch.mark();
      try {
        if (m.native) m.native.reader.readInto(batch, this.deltas, 0, this.readNative(m));
        else for (const s of m.reader.read(readMap(r.native, m.map))) batch.addFields(s);
      } catch (err) {
        batch.rollback(mark);
        this.log.error({ err, map: m.map.name }, `Reading BPF map ${m.map.name} failed; its metric is skipped this interval.`);
      }
    }
  }

  /** Reads a map's deltas into `this.deltas` now: their bytes. @throws Error with the errno. */
  private readNative(m: LoadedMetric): number {
    const n = m.native!.state.read(this.deltas);
    if (n < 0) throw new Error(`reading BPF map ${m.map.name} failed with errno ${-n}`);
    return n;
  }

  /**
   * Every metric's map, read by the native sampler through its differencing state (bpf-deltas.c:
   * BPF_MAP_LOOKUP_BATCH, per-CPU values summed, deltas of the keys that moved), or why not: a
   * kernel or map type without batch lookup, or no sampler library, stays on the JS timer.
   */
  sampledSlots(): { slots: SamplerSlot[] } | { reason: string } {
    const r = this.nativeResult;
    if (!r.ok) return { reason: r.reason };
    const slots: SamplerSlot[] = [];
    for (const m of this.metrics) {
      if (!m.native) return { reason: m.why ?? `BPF map ${m.map.name} has no native read` };
      slots.push({ fd: m.map.fd, pread: false, size: Math.max(1, m.map.maxEntries) * BPF_DELTA_BYTES, bpfMap: m.native.state });
    }
    return { slots };
  }

  /** `readInto` for one tick the native sampler read: each map's deltas from its bytes. */
  readSampledInto(batch: SampleBatch, tick: SampledTick, first: number): void {
    this.eachSampled(tick, first, (reader, start, length) => reader.readInto(batch, tick.data, start, length));
  }

  /** The samples of one tick the native sampler read, as objects (for wrappers that stamp fields on them). */
  readSampled(tick: SampledTick, first: number): SourceSample[] {
    const out: SourceSample[] = [];
    this.eachSampled(tick, first, (reader, start, length) => {
      for (const s of reader.read(tick.data, start, length)) out.push(s);
    });
    return out;
  }

  /** Each map's slice of a sampled tick, to its delta reader; a map whose read failed is logged and skipped. */
  private eachSampled(tick: SampledTick, first: number, use: (reader: DeltaReader, start: number, length: number) => void): void {
    this.decodedUntil = tick.ts;
    for (let i = 0; i < this.metrics.length; i++) {
      const m = this.metrics[i]!;
      const length = tick.length[first + i]!;
      if (length < 0) {
        this.log.error({ errno: -length, map: m.map.name }, `Reading BPF map ${m.map.name} failed (errno ${-length}); its metric is skipped this interval.`);
        continue;
      }
      use(m.native!.reader, tick.start[first + i]!, length);
    }
  }

  /** Entries each metric map was given on this node (map-sizing.ts), by map name. */
  get mapEntries(): Record<string, number> {
    return Object.fromEntries(this.metrics.map((m) => [m.map.name, m.map.maxEntries]));
  }

  /** Keys the programs could not add to a map (full, or another failure) since they were loaded (self telemetry); undefined when nothing is loaded. */
  droppedKeys(): DroppedKeyCounts | undefined {
    return this.objects.length > 0 ? this.dropped?.read() : undefined;
  }

  async shutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.gone = new GoneCgroups(); // keyed by map fd, which the next start's maps may reuse
    this.dropped?.clear();
    // The agent stops the sampler thread before its sources shut down, so no thread reads these states.
    for (const m of this.metrics) m.native?.state.free();
    this.metrics = [];
    for (const o of this.objects.splice(0)) o.close();
  }
}

function safeCgroupRoot(mountinfo: string): string | null {
  try {
    return findCgroup2Root(mountinfo);
  } catch {
    return null;
  }
}
