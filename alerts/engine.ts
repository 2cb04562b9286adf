/**
 * The rule engine: pure and synchronous. It takes samples (tagged with run and partition), keeps one
 * detector and one pending/firing state per (rule, series), and returns the alerts that changed
 * state. An incident fires once, when its detector has breached continuously for the rule's `for`
 * (event time, from the samples' ts), and resolves at the first value that no longer breaches or
 * when its run ends. The live evaluator and `isoscope alerts test` both drive it, so a replay gives
 * exactly what the live stream would have given.
 */
import { createHash } from 'node:crypto';
import type { BaselineStats } from './detectors/baseline.js';
import { BaselineDetector } from './detectors/baseline.js';
import { CusumDetector } from './detectors/cusum.js';
import type { Detector } from './detectors/detector.js';
import { ThresholdDetector } from './detectors/threshold.js';
import { aggregate, matches, seriesKey, seriesLabels, type SampleView } from './rules/match.js';
import type { Rule, SeriesDimension } from './rules/schema.js';

/** Where baseline detectors get their distribution: null until known (the detector stays silent). */
export type BaselineLookup = (rule: Rule, run: string | null) => BaselineStats | null;

export interface Transition {
  /** Incident id: stable from firing to resolution, and the same on a replay of the same samples. */
  alert: string;
  rule: Rule;
  state: 'firing' | 'resolved';
  /** When the state changed (ts of the deciding sample, or of the run's end), ns. */
  ts: bigint;
  /** When the breach began (the incident's start), ns. */
  startsAt: bigint;
  /** The series: its `by` dimensions with their values. */
  series: Partial<Record<SeriesDimension, string>>;
  node: string | null;
  partition: string | null;
  run: string | null;
  value: number | null;
  message: string;
}

interface SeriesState {
  rule: Rule;
  labels: Partial<Record<SeriesDimension, string>>;
  detector: Detector;
  node: string;
  partition: string | null;
  run: string | null;
  lastTs: bigint;
  breachSince: bigint | null;
  firing: { alert: string; startsAt: bigint } | null;
}

export class RuleEngine {
  private readonly series = new Map<string, SeriesState>();
  /** Values that arrived out of order (older than their series' last) and were skipped. */
  outOfOrder = 0;

  constructor(private readonly rules: readonly Rule[], private readonly baseline: BaselineLookup = () => null) {}

  /** Feeds samples (any order, any number of timestamps); returns the state changes, in ts order. */
  observe(samples: readonly SampleView[]): Transition[] {
    const points = new Map<string, { rule: Rule; labels: Partial<Record<SeriesDimension, string>>; sample: SampleView; values: number[] }>();
    this.rules.forEach((rule, r) => {
      for (const s of samples) {
        if (!Number.isFinite(s.value) || !matches(rule, s)) continue;
        const labels = seriesLabels(rule, s);
        const key = `${r}\u0000${seriesKey(labels)}\u0000${s.ts}`;
        const p = points.get(key);
        if (p) p.values.push(s.value);
        else points.set(key, { rule, labels, sample: s, values: [s.value] });
      }
    });
    const ordered = [...points.values()].sort((a, b) => (a.sample.ts < b.sample.ts ? -1 : a.sample.ts > b.sample.ts ? 1 : 0));
    const out: Transition[] = [];
    for (const p of ordered) {
      const t = this.step(p.rule, p.labels, p.sample, aggregate(p.rule.scope.aggregate, p.values));
      if (t) out.push(t);
    }
    return out;
  }

  /** Resolves every incident of `run` (its end record arrived at `ts`) and forgets its series. */
  endRun(run: string, ts: bigint): Transition[] {
    const out: Transition[] = [];
    for (const [key, st] of this.series) {
      if (st.run !== run) continue;
      if (st.firing) out.push(this.transition(st, 'resolved', ts, null, `${describe(st)}: resolved because run ${run} ended.`));
      this.series.delete(key);
    }
    return out;
  }

  /** Incidents currently firing. */
  get firing(): number {
    let n = 0;
    for (const st of this.series.values()) if (st.firing) n++;
    return n;
  }

  private step(rule: Rule, labels: Partial<Record<SeriesDimension, string>>, s: SampleView, value: number): Transition | null {
    const key = `${rule.name}\u0000${seriesKey(labels)}`;
    let st = this.series.get(key);
    if (!st) {
      const created: SeriesState = { rule, labels, detector: null as unknown as Detector, node: s.node, partition: s.partition ?? null, run: s.run ?? null, lastTs: -1n, breachSince: null, firing: null };
      created.detector = createDetector(rule, () => this.baseline(rule, created.run));
      this.series.set(key, (st = created));
    }
    if (s.ts <= st.lastTs) {
      this.outOfOrder++;
      return null;
    }
    st.lastTs = s.ts;
    st.node = s.node;
    st.partition = s.partition ?? null;
    st.run = s.run ?? null;
    const verdict = st.detector.update(value);
    if (verdict === null) return null;
    if (verdict) {
      st.breachSince ??= s.ts;
      if (!st.firing && s.ts - st.breachSince >= BigInt(rule.for) * 1_000_000n) {
        st.firing = { alert: incidentId(rule.name, seriesKey(labels), st.breachSince), startsAt: st.breachSince };
        return this.transition(st, 'firing', s.ts, value, `${describe(st)}: ${rule.summary ?? `${rule.metric} is abnormal`} (${st.detector.explain()}).`);
      }
      return null;
    }
    st.breachSince = null;
    if (st.firing) return this.transition(st, 'resolved', s.ts, value, `${describe(st)}: back to normal (${st.detector.explain()}).`);
    return null;
  }

  private transition(st: SeriesState, state: 'firing' | 'resolved', ts: bigint, value: number | null, message: string): Transition {
    const f = st.firing!;
    if (state === 'resolved') st.firing = null;
    return { alert: f.alert, rule: st.rule, state, ts, startsAt: f.startsAt, series: st.labels, node: st.node, partition: st.partition, run: st.run, value, message };
  }
}

export function createDetector(rule: Rule, stats: () => BaselineStats | null): Detector {
  const d = rule.detector;
  switch (d.kind) {
    case 'threshold': return new ThresholdDetector(d);
    case 'baseline': return new BaselineDetector(d, stats);
    case 'changepoint': return new CusumDetector(d);
  }
}

/** sha256 of rule, series and start, 16 hex digits. */
export function incidentId(rule: string, series: string, startsAt: bigint): string {
  return createHash('sha256').update(`${rule}\u0000${series}\u0000${startsAt}`).digest('hex').slice(0, 16);
}

function describe(st: SeriesState): string {
  const where = Object.entries(st.labels).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${st.rule.name}: ${st.rule.metric}${where ? ` (${where})` : ''}`;
}
