/**
 * Runs as the API shows them: the phase rows of the `runs` table folded into one object per run
 * (start, end, status, result, duration), the same whichever store answered.
 */
import type { Store } from '../store/store.js';
import { dialectOf, toNs } from './sql/dialect.js';
import { RUN_COLUMNS, runsSql, type RunFilter } from './sql/runs-sql.js';
import { isoNs } from './time.js';
import { inList } from './sql/literals.js';

export interface RunPhase {
  phase: string;
  ts: string;
  ts_ns: string;
  message: string | null;
}

export interface Run {
  run: string;
  experiment: string;
  workload: string;
  stack: string;
  nodes: string[];
  node_count: number;
  background: boolean;
  repetition: number;
  /** Last phase reached: running (only start), end, fail or abort. */
  status: 'running' | 'end' | 'fail' | 'abort';
  start: string | null;
  end: string | null;
  start_ns: string | null;
  end_ns: string | null;
  duration_s: number | null;
  result: number | null;
  unit: string | null;
  message: string | null;
  config: Record<string, unknown>;
  phases: RunPhase[];
}

/** Internal queries may read this many rows; more is an error rather than a silent cut. */
export const INTERNAL_LIMIT = 1_000_000;

/** Runs a generated statement and fails loudly if the store cut it. */
export async function queryAll(store: Store, sql: string, timeoutMs = 30_000) {
  const res = await store.query(sql, { limit: INTERNAL_LIMIT, timeoutMs });
  if (res.truncated) throw new Error(`the query returned more than ${INTERNAL_LIMIT} rows; narrow the filters`);
  return res;
}

function parseConfig(v: unknown): Record<string, unknown> {
  if (v && typeof v === 'object') return v as Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(String(v ?? '{}'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    return { raw: String(v) };
  }
}

export async function loadRuns(store: Store, filter: RunFilter): Promise<Run[]> {
  const res = await queryAll(store, runsSql(dialectOf(store.kind), filter));
  const byRun = new Map<string, Run & { startNs?: bigint; endNs?: bigint }>();
  for (const row of res.rows) {
    const ns = toNs(row[0]);
    const r = Object.fromEntries(RUN_COLUMNS.map((c, i) => [c, row[i + 1]])) as Record<(typeof RUN_COLUMNS)[number], unknown>;
    const id = String(r.run);
    let run = byRun.get(id);
    if (!run) {
      run = {
        run: id, experiment: String(r.experiment), workload: String(r.workload), stack: String(r.stack),
        nodes: String(r.nodes ?? '').split(',').filter(Boolean), node_count: Number(r.node_count), background: r.background === true || r.background === 'true',
        repetition: Number(r.repetition), status: 'running', start: null, end: null, start_ns: null, end_ns: null, duration_s: null,
        result: null, unit: null, message: null, config: parseConfig(r.config), phases: [],
      };
      byRun.set(id, run);
    }
    const phase = String(r.phase);
    run.phases.push({ phase, ts: isoNs(ns), ts_ns: ns.toString(), message: (r.message as string | null) ?? null });
    if (phase === 'start') {
      run.startNs = ns;
      run.config = { ...parseConfig(r.config), ...run.config };
    } else {
      run.endNs = ns;
      run.status = phase as Run['status'];
      if (r.result !== null && r.result !== undefined) run.result = Number(r.result);
      if (r.unit) run.unit = String(r.unit);
      if (r.message) run.message = String(r.message);
      run.config = { ...run.config, ...parseConfig(r.config) };
    }
  }
  return [...byRun.values()].map(({ startNs, endNs, ...run }) => ({
    ...run,
    start: startNs !== undefined ? isoNs(startNs) : null,
    start_ns: startNs?.toString() ?? null,
    end: endNs !== undefined ? isoNs(endNs) : null,
    end_ns: endNs?.toString() ?? null,
    duration_s: startNs !== undefined && endNs !== undefined ? Number(endNs - startNs) / 1e9 : null,
  }));
}

/** How many samples a run got, and from which nodes (by the `node` the samples carry). */
export interface RunSamples {
  total: number;
  by_node: Record<string, number>;
}

/**
 * The samples tagged with each run, per node: a finished run with none is the sign that nothing
 * was measured or nothing matched (see `isoscope runs`, the run summary and ingest's
 * `isoscope_ingest_unmatched_samples_total`).
 */
export async function sampleCounts(store: Store, runs: readonly string[]): Promise<Map<string, RunSamples>> {
  const out = new Map<string, RunSamples>(runs.map((r) => [r, { total: 0, by_node: {} }]));
  if (runs.length === 0) return out;
  for (let i = 0; i < runs.length; i += 500) {
    const res = await queryAll(store, `SELECT run, node, count(*) AS n FROM samples WHERE run IN ${inList(runs.slice(i, i + 500))} GROUP BY run, node`);
    for (const [run, node, n] of res.rows) {
      const c = out.get(String(run));
      if (!c) continue;
      c.by_node[String(node)] = Number(n);
      c.total += Number(n);
    }
  }
  return out;
}

/** The experiment version a run belongs to (`config.spec_hash`, the sha256 of its experiment file). */
export function specHashOf(run: Pick<Run, 'config'>): string | null {
  return typeof run.config.spec_hash === 'string' ? run.config.spec_hash : null;
}
