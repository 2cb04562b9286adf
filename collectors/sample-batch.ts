/**
 * One `samples` message, encoded while the sources read, in schema version 2 (column by column,
 * schema/columnar.ts). A tick builds no sample objects and no strings: each sample is a row of
 * typed-array columns (value, cpu and scale as numbers; metric, source, labels, partition, run as
 * small ids of their JSON text, interned once), and `finish()` writes the message's bytes column by
 * column into one reused buffer, writing what the whole batch shares (ts, node, collector, seq, a
 * constant source or cpu) once and idx as a run, then copies them out. Version 2 is a tenth of
 * version 1's bytes for collector batches and about four times cheaper for ingest to decode and check
 * (bench/producer.bench.ts); `decode()` reads it to the same records as the version-1 message
 * `encodeV1('samples', records)` would give, except that a label left out comes back null rather
 * than absent (both are stored as NULL).
 *
 * Why bytes rather than joined strings (issue 19): the string encoder allocated a string per number
 * and per column and then UTF-8 encoded the joined text; it was most of the collector's main-thread
 * CPU and fed V8's garbage collector every tick (bench/default-set-overhead). Integers, most of the
 * values, are written as digits without a string; other numbers as `String(v)` writes them.
 *
 * Names and labels repeat every interval, so their JSON text is cached (bounded); hot sources go
 * further and pass pre-encoded fragments (`addEncoded`). Numbers are written as JSON.stringify
 * writes them: finite numbers in their shortest form, NaN and ±Infinity as null (which validation
 * then refuses, naming the sample, as for version 1). `scale` 1 and `cpu` -1 are the columns'
 * defaults: written explicitly only when the batch needs the column at all.
 */
import { ByteWriter, NO_LABELS, NULL_ID, Texts, type LabelSet } from './batch-bytes.js';

/** Label columns a sample may carry, in the order they are written. */
export const LABEL_COLUMNS = ['cgroup', 'comm', 'irq', 'device', 'le'] as const;
export type LabelColumn = (typeof LABEL_COLUMNS)[number];
export type SampleLabels = Partial<Record<LabelColumn, string | null>>;

/** A sample in object form: what sources without `readInto` return, and event-source samples. */
export interface SampleFields extends SampleLabels {
  metric: string;
  value: number;
  cpu?: number;
  scale?: number;
  /** Event-source samples carry their own time; the batch time is used otherwise. */
  ts?: bigint;
  source?: string;
  partition?: string | null;
  run?: string | null;
}

/** Distinct texts (names, labels sets) kept before a cache starts again: unbounded label values (comm, cgroup) must not grow it forever. */
const MAX_CACHED = 10_000;
export class SampleBatch {
  private n = 0;
  private cap = 0;
  private tsJson = '""';
  /** The batch time's text id, once a sample has a time of its own (the ts column is then written per sample). */
  private tsId = -1;
  private seq = 0;
  private sourceId = 0;
  // One entry per sample: numbers, and ids into `texts` / `labelSets`.
  private metric = new Int32Array(0);
  private value = new Float64Array(0);
  private cpu = new Float64Array(0);
  private scale = new Float64Array(0);
  private src = new Int32Array(0);
  private labels = new Int32Array(0);
  /** Columns only event-source samples and partition scopes set; allocated (and back-filled) when the first one does. */
  private ts: Int32Array | null = null;
  private partition: Int32Array | null = null;
  private run: Int32Array | null = null;
  private readonly texts = new Texts();
  private readonly labelIds = new Map<string, number>();
  private readonly labelSets: LabelSet[] = [NO_LABELS];
  private readonly names = new Map<string, string>();
  private readonly nodeBytes: Buffer;
  private readonly collectorBytes: Buffer;
  private readonly out = new ByteWriter();

  constructor(node: string, collector: string) {
    this.nodeBytes = Buffer.from(JSON.stringify(node), 'utf8');
    this.collectorBytes = Buffer.from(JSON.stringify(collector), 'utf8');
  }

  /** Starts a new message: every sample added until `finish()` gets this time and seq. */
  begin(ts: bigint, seq: number): void {
    this.n = 0;
    this.ts = this.partition = this.run = null;
    // Ids live for one batch at most, so the tables can start again between batches.
    if (this.texts.size >= MAX_CACHED) this.texts.clear();
    if (this.labelSets.length >= MAX_CACHED) {
      this.labelIds.clear();
      this.labelSets.length = 1;
    }
    this.tsJson = `"${ts}"`;
    this.tsId = -1;
    this.seq = seq;
    this.sourceId = this.texts.id('""');
  }

  /** The `source` column of the samples added next. */
  source(name: string): void {
    this.sourceId = this.texts.id(this.json(name));
  }

  get count(): number {
    return this.n;
  }

  /** A point to go back to when a source fails half-way through its samples. */
  mark(): { count: number } {
    return { count: this.n };
  }

  rollback(to: { count: number }): void {
    this.n = Math.min(this.n, to.count);
  }

  /**
   * Appends a sample from pre-encoded parts: `metricJson` is the metric name as a JSON string, and
   * `labelsJson` is '' or `,"cgroup":"…"…` (see `encodeLabels`). The cheapest way in.
   */
  addEncoded(metricJson: string, value: number, cpu: number, scale: number, labelsJson: string): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.metric[i] = this.texts.id(metricJson);
    this.value[i] = value;
    this.cpu[i] = cpu;
    this.scale[i] = scale;
    this.src[i] = this.sourceId;
    this.labels[i] = labelsJson === '' ? 0 : this.labelId(labelsJson);
    if (this.ts) this.ts[i] = this.batchTsId();
    if (this.partition) this.partition[i] = NULL_ID;
    if (this.run) this.run[i] = NULL_ID;
  }

  /** Sets partition and run on the samples added since the batch held `from` (a partition scope's counters). */
  stampPartition(from: number, partition: string | null, run: string | null): void {
    const p = partition === null ? NULL_ID : this.texts.id(this.json(partition));
    const r = run === null ? NULL_ID : this.texts.id(this.json(run));
    const pcol = (this.partition ??= this.idColumn(NULL_ID));
    const rcol = (this.run ??= this.idColumn(NULL_ID));
    pcol.fill(p, from, this.n);
    rcol.fill(r, from, this.n);
  }

  /**
   * Sets partition and run on the samples added since the batch held `from` whose `cgroup` label is
   * a key of `byCgroup` (as JSON text) and that have no partition yet: samples of eBPF maps keyed by
   * cgroup, attributed to the partition scope of that cgroup without building sample objects.
   */
  stampPartitionByCgroup(from: number, byCgroup: ReadonlyMap<string, { partition: string; run: string | null }>): void {
    const n = this.n;
    if (byCgroup.size === 0 || from >= n) return;
    for (let i = from; i < n; i++) {
      const cgroup = this.labelSets[this.labels[i]!]!.cgroup;
      const scope = cgroup === undefined ? undefined : byCgroup.get(cgroup);
      if (scope === undefined || (this.partition !== null && this.partition[i] !== NULL_ID)) continue;
      this.partition ??= this.idColumn(NULL_ID);
      this.run ??= this.idColumn(NULL_ID);
      this.partition[i] = this.texts.id(this.json(scope.partition));
      this.run[i] = scope.run === null ? NULL_ID : this.texts.id(this.json(scope.run));
    }
  }

  /** Appends a sample with plain strings; names and labels go through the JSON cache. */
  add(metric: string, value: number, cpu = -1, scale = 1, labelsJson = ''): void {
    this.addEncoded(this.json(metric), value, cpu, scale, labelsJson);
  }

  /** Appends a sample in object form (cpu and scale left undefined take their defaults, -1 and 1). */
  addFields(s: SampleFields): void {
    const i = this.n;
    const source = this.sourceId;
    if (s.source !== undefined) this.sourceId = this.texts.id(this.json(s.source));
    this.addEncoded(this.json(s.metric), s.value, s.cpu ?? -1, s.scale ?? 1, this.encodeLabels(s));
    this.sourceId = source;
    if (s.ts !== undefined) (this.ts ??= this.idColumn(this.batchTsId()))[i] = this.texts.id(`"${s.ts}"`);
    if (s.partition !== undefined) (this.partition ??= this.idColumn(NULL_ID))[i] = s.partition === null ? NULL_ID : this.texts.id(this.json(s.partition));
    if (s.run !== undefined) (this.run ??= this.idColumn(NULL_ID))[i] = s.run === null ? NULL_ID : this.texts.id(this.json(s.run));
  }

  /** `,"cgroup":"…","comm":"…"` for the labels that are set ('' for none); cache the result per label set. */
  encodeLabels(labels: SampleLabels): string {
    let out = '';
    for (const col of LABEL_COLUMNS) {
      const v = labels[col];
      if (v !== undefined) out += `,"${col}":${v === null ? 'null' : this.json(v)}`;
    }
    return out;
  }

  /** A string as JSON, cached: names and labels repeat every interval. */
  json(text: string): string {
    let out = this.names.get(text);
    if (out === undefined) {
      if (this.names.size >= MAX_CACHED) this.names.clear();
      out = JSON.stringify(text);
      this.names.set(text, out);
    }
    return out;
  }

  /** The id of a labels fragment's set, parsed once (fragments repeat). */
  private labelId(fragment: string): number {
    let id = this.labelIds.get(fragment);
    if (id === undefined) {
      const obj = JSON.parse(`{${fragment.slice(1)}}`) as Record<string, string | null>;
      const set: LabelSet = { cols: [], mask: 0, cgroup: undefined };
      LABEL_COLUMNS.forEach((col, c) => {
        const v = obj[col];
        const json = v === undefined || v === null ? undefined : JSON.stringify(v);
        set.cols.push(json === undefined ? null : Buffer.from(json, 'utf8'));
        if (json !== undefined) set.mask |= 1 << c;
        if (col === 'cgroup') set.cgroup = json;
      });
      id = this.labelSets.length;
      this.labelSets.push(set);
      this.labelIds.set(fragment, id);
    }
    return id;
  }

  private batchTsId(): number {
    if (this.tsId < 0) this.tsId = this.texts.id(this.tsJson);
    return this.tsId;
  }

  /** A per-sample id column for the samples so far, each set to `id`. */
  private idColumn(id: number): Int32Array {
    return new Int32Array(this.cap).fill(id, 0, this.n);
  }

  private grow(): void {
    const cap = Math.max(256, this.cap * 2);
    const more = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.n));
      return b;
    };
    const ints = (n: number) => new Int32Array(n);
    const floats = (n: number) => new Float64Array(n);
    this.metric = more(this.metric, ints);
    this.value = more(this.value, floats);
    this.cpu = more(this.cpu, floats);
    this.scale = more(this.scale, floats);
    this.src = more(this.src, ints);
    this.labels = more(this.labels, ints);
    if (this.ts) this.ts = more(this.ts, ints);
    if (this.partition) this.partition = more(this.partition, ints);
    if (this.run) this.run = more(this.run, ints);
    this.cap = cap;
  }

  /** The message body: `{"v":2,"type":"samples","n":…,"cols":{…}}` (schema version 2, column by column). */
  finish(): Buffer {
    const n = this.n;
    const w = this.out;
    const texts = this.texts.bytes;
    w.reset();
    w.ascii('{"v":2,"type":"samples","n":');
    w.num(n);
    w.ascii(',"cols":{"ts":');
    if (this.ts) w.idArray(this.ts, n, texts);
    else {
      w.ascii('{"c":');
      w.ascii(this.tsJson);
      w.ascii('}');
    }
    w.ascii(',"node":{"c":');
    w.bytes(this.nodeBytes);
    w.ascii('},"collector":{"c":');
    w.bytes(this.collectorBytes);
    w.ascii('},"seq":{"c":');
    w.num(this.seq);
    w.ascii('},"idx":{"r":0},"source":');
    w.idColumn(this.src, n, texts);
    w.ascii(',"metric":');
    w.idArray(this.metric, n, texts);
    w.ascii(',"value":');
    w.numArray(this.value, n);
    w.ascii(',"cpu":');
    w.numColumn(this.cpu, n);
    let scaled = false;
    for (let i = 0; i < n && !scaled; i++) scaled = this.scale[i] !== 1;
    if (scaled) {
      w.ascii(',"scale":');
      w.numArray(this.scale, n);
    }
    if (this.partition) {
      w.ascii(',"partition":');
      w.idArray(this.partition, n, texts);
    }
    if (this.run) {
      w.ascii(',"run":');
      w.idArray(this.run, n, texts);
    }
    let mask = 0;
    for (let i = 0; i < n; i++) mask |= this.labelSets[this.labels[i]!]!.mask;
    for (let c = 0; mask !== 0 && c < LABEL_COLUMNS.length; c++) {
      if ((mask & (1 << c)) === 0) continue;
      w.ascii(`,"${LABEL_COLUMNS[c]}":`);
      w.labelArray(this.labels, n, this.labelSets, c);
    }
    w.ascii('}}');
    this.n = 0;
    return w.copy();
  }
}
