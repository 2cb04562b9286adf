/**
 * One `samples` message, encoded while the sources read: each sample is appended as its JSON text
 * straight away, so a tick builds no sample objects, no spread copies and no array of records for
 * JSON.stringify to walk. The output is the version-1 message `encodeV1('samples', records)` produces for the
 * same records (same fields, same values; field order may differ), and `decode()` reads it alike.
 *
 * Names and labels repeat every interval, so their JSON text is cached (bounded); hot sources go
 * further and pass pre-encoded fragments (`addEncoded`). Numbers are written as JSON.stringify
 * writes them: finite numbers in their shortest form, NaN and ±Infinity as null. `scale` 1 is left
 * out of `addEncoded` samples: it is the column's default, and most samples have it (12 bytes each).
 */
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

const MAX_CACHED = 10_000;

export class SampleBatch {
  private body = '';
  private n = 0;
  private head = '';
  private sourcePart = '';
  private readonly names = new Map<string, string>();

  constructor(private readonly node: string, private readonly collector: string) {}

  /** Starts a new message: every sample added until `finish()` gets this time and seq. */
  begin(ts: bigint, seq: number): void {
    this.body = '';
    this.n = 0;
    this.head = `{"ts":"${ts}","node":${this.json(this.node)},"collector":${this.json(this.collector)},"seq":${seq},"idx":`;
    this.sourcePart = '';
  }

  /** The `source` column of the samples added next. */
  source(name: string): void {
    this.sourcePart = `,"source":${this.json(name)}`;
  }

  get count(): number {
    return this.n;
  }

  /** A point to go back to when a source fails half-way through its samples. */
  mark(): { length: number; count: number } {
    return { length: this.body.length, count: this.n };
  }

  rollback(to: { length: number; count: number }): void {
    this.body = this.body.slice(0, to.length);
    this.n = to.count;
  }

  /**
   * Appends a sample from pre-encoded parts: `metricJson` is the metric name as a JSON string, and
   * `labelsJson` is '' or `,"cgroup":"…"…` (see `encodeLabels`). The cheapest way in.
   */
  addEncoded(metricJson: string, value: number, cpu: number, scale: number, labelsJson: string): void {
    this.body += `${this.n === 0 ? '' : ','}${this.head}${this.n}${this.sourcePart},"metric":${metricJson},"value":${num(value)},"cpu":${num(cpu)}${scale === 1 ? '' : `,"scale":${num(scale)}`}${labelsJson}}`;
    this.n++;
  }

  /** Appends a sample with plain strings; names and labels go through the JSON cache. */
  add(metric: string, value: number, cpu = -1, scale = 1, labelsJson = ''): void {
    this.addEncoded(this.json(metric), value, cpu, scale, labelsJson);
  }

  /** Appends a sample in object form (fields left undefined are left out, as JSON.stringify does). */
  addFields(s: SampleFields): void {
    let text = this.n === 0 ? '' : ',';
    if (s.ts === undefined) text += `${this.head}${this.n}`;
    else text += `{"ts":"${s.ts}"${this.head.slice(this.head.indexOf(',"node"'))}${this.n}`;
    text += s.source === undefined ? this.sourcePart : `,"source":${this.json(s.source)}`;
    text += `,"metric":${this.json(s.metric)},"value":${num(s.value)}`;
    if (s.cpu !== undefined) text += `,"cpu":${num(s.cpu)}`;
    if (s.scale !== undefined) text += `,"scale":${num(s.scale)}`;
    if (s.partition !== undefined) text += `,"partition":${s.partition === null ? 'null' : this.json(s.partition)}`;
    if (s.run !== undefined) text += `,"run":${s.run === null ? 'null' : this.json(s.run)}`;
    text += this.encodeLabels(s);
    this.body += `${text}}`;
    this.n++;
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
      if (this.names.size >= MAX_CACHED) this.names.clear(); // unbounded label values (comm, cgroup) must not grow it forever
      out = JSON.stringify(text);
      this.names.set(text, out);
    }
    return out;
  }

  /** The message body: `{"v":1,"type":"samples","records":[…]}` (schema version 1, record by record, which every isoscope reads). */
  finish(): Buffer {
    const out = Buffer.from(`{"v":1,"type":"samples","records":[${this.body}]}`, 'utf8');
    this.body = '';
    return out;
  }
}

/** A number as JSON.stringify writes it. */
function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}
