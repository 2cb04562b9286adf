/**
 * The procfs source: per-CPU time spent in each mode (seconds over the interval, from /proc/stat
 * tick counters), node-wide context switches, interrupts and forks over the interval, the
 * runnable/blocked process gauges, memory node-wide and per NUMA node, and interrupts per IRQ and
 * CPU. Works where perf and BPF are not allowed.
 *
 * Files are opened once and re-read with pread into reused buffers (proc-file.ts), and parsed in
 * place by cheap parsers (stat-counters.ts, meminfo-fast.ts, interrupt-counters.ts) that give what
 * the reference parsers below and in parse-*.ts give (their tests hold them to it). Synchronous on
 * purpose: the files are generated in memory by the kernel, and fs/promises costs ~10× the CPU of a
 * synchronous read for them (274 vs 24 µs per /proc/stat, measured).
 */
import { componentLogger } from '../../core/logger.js';
import { numaNodeDirs } from './memory.js';
import type { SampleBatch } from '../sample-batch.js';
import type { SampledTick, SamplerSlot } from '../sampler/native-sampler.js';
import { NOT_READ } from '../sampler/native-sampler.js';
import type { Source, SourceSample } from '../source.js';
import type { ProcfsConfig } from './config.js';
import { InterruptCounters } from './interrupt-counters.js';
import { MeminfoFields, WANTED_KEYS } from './meminfo-fast.js';
import { HUGEPAGE_METRICS, MEMINFO_METRICS } from './parse-meminfo.js';
import type { ProcStat } from './parse-stat.js';
import { ProcFile } from './proc-file.js';
import { StatCounters } from './stat-counters.js';

/** A file's reading: `buf[0, length)`; null when not read this time (/proc/interrupts between its readings). */
type Reading = { buf: Buffer; length: number } | null;
/** The reading of file i (0 stat, 1 meminfo, 2 … NUMA nodes, last interrupts; absent files have none). */
type Read = (file: ProcFile) => Reading;

/** Called for each sample: `label` is the value of the `device` (NUMA node) or `irq` column. */
type Emit = (metric: string, value: number, cpu: number, column?: 'device' | 'irq', label?: string) => void;

const HUGEPAGESIZE = WANTED_KEYS.indexOf('Hugepagesize');
const MEMTOTAL = WANTED_KEYS.indexOf('MemTotal');
const MEM_NAMES = MEMINFO_METRICS.map(([, m]) => `mem.${m}`);
const HUGE_NAMES = HUGEPAGE_METRICS.map(([, m]) => `mem.${m}`);
const NUMA_NAMES = MEMINFO_METRICS.map(([, m]) => `numa.mem.${m}`);
const NUMA_HUGE_NAMES = HUGEPAGE_METRICS.map(([, m]) => `numa.mem.${m}`);

interface NumaFile {
  file: ProcFile;
  fields: MeminfoFields;
}

export class ProcfsSource implements Source {
  readonly name = 'procfs';
  private stat: ProcFile | null = null;
  private statCounters: StatCounters;
  private meminfo: { file: ProcFile; fields: MeminfoFields } | null = null;
  private numa: NumaFile[] = [];
  private interrupts: { file: ProcFile; counters: InterruptCounters } | null = null;
  /** performance.now() of the last collect, of the last /proc/interrupts reading and of the last memory reading (the JS timer's path). */
  private lastCollect = 0;
  private lastInterrupts = 0;
  private lastMemory = Number.NEGATIVE_INFINITY;
  /** Hugepagesize from the last /proc/meminfo reading (bytes; NaN: unknown), which converts the NUMA nodes' huge page counts. */
  private hugePageBytes = Number.NaN;
  /** JSON label fragments (`,"irq":"…"`, `,"device":"…"`) by label, for readInto (a map per column: no key string built per sample). */
  private readonly irqJson = new Map<string, string>();
  private readonly deviceJson = new Map<string, string>();

  constructor(private readonly config: ProcfsConfig) {
    this.statCounters = new StatCounters(config.ticksPerSecond);
  }

  async start(): Promise<void> {
    // Fail at start-up, not at the first interval, when a file cannot be read.
    this.statCounters = new StatCounters(this.config.ticksPerSecond);
    this.stat = new ProcFile(this.config.statPath);
    if (this.statCounters.update(this.stat.read(), this.stat.length, null) === 0) throw new Error(`${this.config.statPath}: no cpu lines found; expected the format of /proc/stat`);
    if (this.config.meminfoPath !== null) {
      const file = new ProcFile(this.config.meminfoPath);
      const fields = new MeminfoFields();
      fields.parse(file.read(), file.length);
      if (Number.isNaN(fields.values[MEMTOTAL]!)) throw new Error(`${this.config.meminfoPath}: no MemTotal line found; expected the format of /proc/meminfo`);
      this.meminfo = { file, fields };
      this.hugePageBytes = fields.values[HUGEPAGESIZE]!;
    }
    // NUMA nodes are listed once: memory hot-plug adding a node is rare enough to need a restart.
    if (this.config.numaDir !== null) this.numa = numaNodeDirs(this.config.numaDir).map((n) => ({ file: new ProcFile(`${this.config.numaDir}/${n}/meminfo`), fields: new MeminfoFields() }));
    if (this.config.interruptsPath !== null) {
      const file = new ProcFile(this.config.interruptsPath, 16384);
      this.interrupts = { file, counters: new InterruptCounters(this.config.maxIrqSamples) };
      this.readInterrupts(null);
    }
    this.lastCollect = performance.now();
    this.lastMemory = Number.NEGATIVE_INFINITY;
  }

  async read(): Promise<SourceSample[]> {
    const out: SourceSample[] = [];
    this.collect((metric, value, cpu, column, label) => {
      const s: SourceSample = { metric, value, cpu };
      if (column !== undefined) s[column] = label!;
      out.push(s);
    });
    return out;
  }

  /** The agent's path: samples straight into the batch. */
  readInto(batch: SampleBatch): void {
    this.collect(this.batchEmit(batch));
  }

  private batchEmit(batch: SampleBatch): Emit {
    return (metric, value, cpu, column, label) => {
      let labels = '';
      if (column !== undefined) {
        const cache = column === 'irq' ? this.irqJson : this.deviceJson;
        labels = cache.get(label!) ?? '';
        if (labels === '') {
          if (cache.size > 10_000) cache.clear();
          cache.set(label!, (labels = `,"${column}":${JSON.stringify(label)}`));
        }
      }
      batch.addEncoded(batch.json(metric), value, cpu, 1, labels);
    };
  }

  /** Slots of the files in `files()` order, and where each file's reading is in a tick. */
  private sampledFiles: ProcFile[] = [];
  private sampledSizes: number[] = [];
  private readonly log = componentLogger('procfs');
  private truncatedWarned = false;

  /**
   * Every file, pread at offset 0 by the native sampler; /proc/interrupts on every
   * `interruptsEveryMs / intervalMs`-th tick only, the meminfo files on every
   * `memoryEveryMs / intervalMs`-th (each first read in the first tick).
   */
  sampledSlots(intervalMs: number): { slots: SamplerSlot[] } {
    if (this.stat === null) throw new Error('the procfs source was not started');
    this.sampledFiles = this.files();
    // Room to grow (CPUs and IRQs coming online); a file that fills its slot is read again here.
    this.sampledSizes = this.sampledFiles.map((f) => Math.max(16384, 4 * f.length));
    return {
      slots: this.sampledFiles.map((f, i) => ({
        fd: f.fd,
        pread: true,
        size: this.sampledSizes[i]!,
        every: f === this.interrupts?.file ? everyTicks(this.config.interruptsEveryMs, intervalMs) : f === this.stat ? 1 : everyTicks(this.config.memoryEveryMs, intervalMs),
      })),
    };
  }

  /** `readInto` for one tick the native sampler read: the same parsers on its bytes. */
  readSampledInto(batch: SampleBatch, tick: SampledTick, first: number): void {
    this.collect(this.batchEmit(batch), (file) => {
      const i = first + this.sampledFiles.indexOf(file);
      const length = tick.length[i]!;
      if (length === NOT_READ) return null;
      if (length < 0) throw new Error(`${file.path}: read failed with errno ${-length}`);
      if (length >= this.sampledSizes[i - first]!) {
        // Grew beyond its slot (CPUs or IRQs added since start): read whole here, a little later.
        if (!this.truncatedWarned) this.log.warn({ file: file.path }, `${file.path} outgrew the native sampler's room for it; it is read on the event loop from now on, a little after the tick.`);
        this.truncatedWarned = true;
        return readNow(file);
      }
      const start = tick.start[i]!;
      return { buf: tick.data.subarray(start, start + length), length };
    });
  }

  /** The open files, in a fixed order. */
  private files(): ProcFile[] {
    return [this.stat!, ...(this.meminfo ? [this.meminfo.file] : []), ...this.numa.map((n) => n.file), ...(this.interrupts ? [this.interrupts.file] : [])];
  }

  /** @param read a file's reading: by default read now; the native sampler's otherwise. */
  private collect(emit: Emit, read: Read = readNow): void {
    if (this.stat === null) throw new Error('the procfs source was not started');
    const stat = read(this.stat)!;
    this.statCounters.update(stat.buf, stat.length, emit);
    // On the JS timer, the files read less often are due when the next interval would be later than
    // due by more than it would be early now; on the sampler, it read them on its own schedule
    // (every k-th tick), and a file not read this tick has no reading.
    const timer = read === readNow;
    const now = timer ? performance.now() : 0;
    const gap = now - this.lastCollect;
    if (timer) this.lastCollect = now;
    if (!timer || now - this.lastMemory + gap / 2 >= this.config.memoryEveryMs) {
      if (timer) this.lastMemory = now;
      this.collectMemory(emit, read);
    }
    if (this.interrupts === null) return;
    if (!timer) {
      const r = read(this.interrupts.file);
      if (r !== null) this.readInterrupts(emit, r);
    } else if (now - this.lastInterrupts + gap / 2 >= this.config.interruptsEveryMs) this.readInterrupts(emit);
  }

  /** mem.* and numa.mem.* from the meminfo files' readings (none for a file not read this tick). */
  private collectMemory(emit: Emit, read: Read): void {
    if (this.meminfo !== null) {
      const { file, fields } = this.meminfo;
      const r = read(file);
      if (r !== null) {
        fields.parse(r.buf, r.length);
        this.hugePageBytes = fields.values[HUGEPAGESIZE]!;
        emitMemory(fields.values, this.hugePageBytes, MEM_NAMES, HUGE_NAMES, emit);
      }
    }
    for (const { file, fields } of this.numa) {
      const r = read(file);
      if (r === null) continue;
      fields.parse(r.buf, r.length);
      if (fields.node < 0) continue;
      emitMemory(fields.values, this.hugePageBytes, NUMA_NAMES, NUMA_HUGE_NAMES, emit, `node${fields.node}`);
    }
  }

  private readInterrupts(emit: Emit | null, reading?: Reading): void {
    const { file, counters } = this.interrupts!;
    this.lastInterrupts = performance.now();
    try {
      const r = reading ?? readNow(file)!;
      counters.update(r.buf, r.length, emit && ((value, cpu, irq) => emit('irq.count', value, cpu, 'irq', irq)));
    } catch (err) {
      throw new Error(`${file.path}: ${(err as Error).message}`);
    }
  }

  async shutdown(): Promise<void> {
    this.stat?.close();
    this.stat = null;
    this.meminfo?.file.close();
    this.meminfo = null;
    for (const n of this.numa.splice(0)) n.file.close();
    this.interrupts?.file.close();
    this.interrupts = null;
  }
}

/** Ticks between readings of a file read at most every `everyMs` (1: every tick). */
function everyTicks(everyMs: number, intervalMs: number): number {
  return Math.max(1, Math.round(everyMs / intervalMs));
}

function readNow(file: ProcFile): Reading {
  return { buf: file.read(), length: file.length };
}

/** As memorySamples() (memory.ts): the reported keys the file has, huge pages in bytes when the page size is known. */
function emitMemory(values: Float64Array, hugePageBytes: number, names: string[], hugeNames: string[], emit: Emit, device?: string): void {
  for (let i = 0; i < names.length; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) emit(names[i]!, v, -1, device === undefined ? undefined : 'device', device);
  }
  if (Number.isNaN(hugePageBytes)) return;
  for (let i = 0; i < hugeNames.length; i++) {
    const v = values[names.length + i]!;
    if (!Number.isNaN(v)) emit(hugeNames[i]!, v * hugePageBytes, -1, device === undefined ? undefined : 'device', device);
  }
}


/** Samples for the change between two readings. Counters that went backwards (CPU hot-unplug) are skipped. */
export function statDeltas(before: ProcStat, after: ProcStat, ticksPerSecond: number): SourceSample[] {
  const out: SourceSample[] = [];
  for (const [cpu, modes] of after.cpus) {
    const old = before.cpus.get(cpu);
    if (!old) continue;
    for (const [mode, ticks] of Object.entries(modes)) {
      const prev = old[mode as keyof typeof old];
      if (prev === undefined || ticks < prev) continue;
      out.push({ metric: `cpu.${mode}`, value: (ticks - prev) / ticksPerSecond, cpu });
    }
  }
  const counters = [['ctxt', 'context_switches'], ['intr', 'interrupts'], ['processes', 'forks']] as const;
  for (const [key, metric] of counters) {
    const a = before[key];
    const b = after[key];
    if (a !== undefined && b !== undefined && b >= a) out.push({ metric, value: b - a, cpu: -1 });
  }
  if (after.procsRunning !== undefined) out.push({ metric: 'procs_running', value: after.procsRunning, cpu: -1 });
  if (after.procsBlocked !== undefined) out.push({ metric: 'procs_blocked', value: after.procsBlocked, cpu: -1 });
  return out;
}
