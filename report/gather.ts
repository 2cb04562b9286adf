/**
 * Everything a report shows, read through the query API: the comparison of every cell
 * (/api/compare/cells), the runs (/api/runs) with their sample counts, the aligned series of the
 * counters that moved most in the cell with the largest slowdown (/api/series), and provenance
 * (the runs' recorded config and the nodes' latest `node_inventory` events).
 */
import type { CellComparison, ExperimentComparison } from '../query/compare.js';
import type { Run } from '../query/runs.js';
import { NAME_PATTERN } from '../query/sql/literals.js';
import type { ApiSource } from './source.js';
import { cellLabel } from './specs/slowdown.js';
import { seriesPanel, type SeriesAnswer, type SeriesPanel } from './specs/series.js';

export interface NodeProvenance {
  node: string;
  kernel: string | null;
  cmdline: string | null;
  modules: string[] | null;
  cpus: string | null;
  numa: string | null;
  sriov: string | null;
  iommu_groups: number | null;
  inventory_at: string | null;
}

export interface ReportData {
  experiment: string;
  generated_at: string;
  isoscope_version: string;
  comparison: ExperimentComparison;
  runs: (Run & { samples: number })[];
  provenance: {
    spec_hashes: string[];
    experiment_files: string[];
    catalog: { entry: string; version: unknown; role: string }[];
    drivers: string[];
    isoscope_versions: string[];
    nodes: NodeProvenance[];
  };
  series: { cell: string | null; panels: SeriesPanel[]; why: string | null };
}

export interface GatherOptions {
  experiment: string;
  figure?: string | undefined;
  version: string;
  /** Metrics in the aligned-series figure. @default 3 */
  seriesMetrics?: number;
  top?: number;
}

const q = (v: string) => encodeURIComponent(v);
const sqlName = (v: string) => (NAME_PATTERN.test(v) ? `'${v}'` : null);

export async function gather(api: ApiSource, o: GatherOptions): Promise<ReportData> {
  const comparison = await api.get<ExperimentComparison>(`/api/compare/cells?experiment=${q(o.experiment)}&top=${o.top ?? 10}${o.figure ? `&figure=${q(o.figure)}` : ''}`);
  const listed = (await api.get<{ runs: Omit<Run, 'config' | 'phases'>[] }>(`/api/runs?experiment=${q(o.experiment)}`)).runs;
  // The list leaves out each run's config (provenance); the run's own page has it.
  const allRuns: Run[] = [];
  for (const r of listed) {
    const one = await api.get<{ provenance: Record<string, unknown> }>(`/api/runs/${q(r.run)}`);
    allRuns.push({ ...r, config: one.provenance ?? {}, phases: [] });
  }
  const runs = allRuns.filter((r) => comparison.spec_hash === null || r.config.spec_hash === comparison.spec_hash);
  const counts = await sampleCounts(api, runs.map((r) => r.run));
  const withCounts = runs.map((r) => ({ ...r, samples: counts.get(r.run) ?? 0 }));
  return {
    experiment: o.experiment,
    generated_at: new Date().toISOString(),
    isoscope_version: o.version,
    comparison,
    runs: withCounts,
    provenance: await provenance(api, runs),
    series: await alignedSeries(api, comparison, withCounts, o.seriesMetrics ?? 3),
  };
}

async function sampleCounts(api: ApiSource, runs: string[]): Promise<Map<string, number>> {
  const names = runs.map(sqlName).filter((n): n is string => n !== null);
  if (names.length === 0) return new Map();
  const res = await api.sql(`SELECT run, count(*) AS n FROM samples WHERE run IN (${names.join(', ')}) GROUP BY run`);
  return new Map(res.rows.map(([run, n]) => [String(run), Number(n)]));
}

async function provenance(api: ApiSource, runs: Run[]): Promise<ReportData['provenance']> {
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  const strings = (f: (r: Run) => unknown) => uniq(runs.map(f).filter((v): v is string => typeof v === 'string')).sort();
  const catalog = new Map<string, { entry: string; version: unknown; role: string }>();
  for (const r of runs) {
    if (typeof r.config.catalog_entry === 'string') catalog.set(`w:${r.config.catalog_entry}`, { entry: r.config.catalog_entry, version: r.config.catalog_version ?? null, role: 'workload' });
    for (const b of (r.config.background_workloads as { entry?: string; version?: unknown }[] | undefined) ?? []) if (b.entry) catalog.set(`b:${b.entry}`, { entry: b.entry, version: b.version ?? null, role: 'background' });
  }
  const nodes = uniq(runs.flatMap((r) => r.nodes)).sort();
  const kernels = new Map<string, string>();
  for (const r of runs) for (const [n, k] of Object.entries((r.config.kernel as Record<string, string> | undefined) ?? {})) kernels.set(n, k);
  const inventories = new Map<string, { ts: string; fields: Record<string, unknown> }>();
  const names = nodes.map(sqlName).filter((n): n is string => n !== null);
  if (names.length) {
    const res = await api.sql(`SELECT node, ts, fields FROM events WHERE kind = 'node_inventory' AND node IN (${names.join(', ')}) ORDER BY ts`);
    for (const [node, ts, fields] of res.rows) {
      const parsed = typeof fields === 'string' ? (JSON.parse(fields) as Record<string, unknown>) : (fields as Record<string, unknown>);
      inventories.set(String(node), { ts: String(ts), fields: parsed });
    }
  }
  return {
    spec_hashes: strings((r) => r.config.spec_hash),
    experiment_files: strings((r) => r.config.experiment_file),
    catalog: [...catalog.values()],
    drivers: uniq(runs.flatMap((r) => (Array.isArray(r.config.drivers) ? (r.config.drivers as string[]) : []))).sort(),
    isoscope_versions: strings((r) => r.config.isoscope_version),
    nodes: nodes.map((node) => nodeProvenance(node, kernels.get(node) ?? null, inventories.get(node) ?? null)),
  };
}

function nodeProvenance(node: string, kernel: string | null, inv: { ts: string; fields: Record<string, unknown> } | null): NodeProvenance {
  const f = (inv?.fields ?? {}) as {
    kernel?: { release?: string | null; cmdline?: string | null; modules?: string[] | null };
    cpu?: { model?: string | null; logical?: number; sockets?: number; cores?: number; threadsPerCore?: number; online?: string; isolated?: string | null };
    numa?: { node: number; cpus: string; memTotalBytes: number | null }[];
    pci?: { address: string; sriov: { totalVfs: number; numVfs: number } | null }[];
    iommuGroups?: unknown[];
  };
  const cpu = f.cpu;
  const sriov = (f.pci ?? []).filter((d) => d.sriov).map((d) => `${d.address}: ${d.sriov!.numVfs}/${d.sriov!.totalVfs} VFs`);
  return {
    node,
    kernel: f.kernel?.release ?? kernel,
    cmdline: f.kernel?.cmdline ?? null,
    modules: f.kernel?.modules ?? null,
    cpus: cpu ? `${cpu.logical} logical (${cpu.sockets} socket × ${cpu.cores} cores × ${cpu.threadsPerCore} threads)${cpu.model ? `, ${cpu.model}` : ''}${cpu.isolated ? `, isolated ${cpu.isolated}` : ''}` : null,
    numa: f.numa ? f.numa.map((n) => `node${n.node}: cpus ${n.cpus || '–'}, ${n.memTotalBytes !== null ? `${(n.memTotalBytes / 2 ** 30).toFixed(1)} GiB` : '? GiB'}`).join('; ') : null,
    sriov: f.pci ? (sriov.length ? sriov.join('; ') : 'none') : null,
    iommu_groups: f.iommuGroups ? f.iommuGroups.length : null,
    inventory_at: inv?.ts ?? null,
  };
}

/** The cell the series figure shows: the largest slowdown among cells with both sides. */
export function seriesCell(c: ExperimentComparison): CellComparison | null {
  const both = c.cells.filter((x) => x.slowdown_estimate !== null);
  return both.sort((a, b) => b.slowdown_estimate! - a.slowdown_estimate!)[0] ?? null;
}

async function alignedSeries(api: ApiSource, c: ExperimentComparison, runs: (Run & { samples: number })[], k: number): Promise<ReportData['series']> {
  const cell = seriesCell(c);
  if (!cell) return { cell: null, panels: [], why: 'no cell has finished runs both alone and with background' };
  const label = cellLabel(cell.stack, cell.node_count);
  const ids = [...cell.baseline.runs, ...cell.interfered.runs].slice(0, 50);
  if (!runs.some((r) => ids.includes(r.run) && r.samples > 0)) return { cell: label, panels: [], why: `no samples are tagged with the runs of ${label}: no collector ran during them, or its node name did not match the experiment's nodes` };
  const picked: CellComparison['metrics'] = [];
  for (const scope of ['workload', 'node'] as const) {
    for (const m of cell.metrics) {
      if (picked.length >= k) break;
      if (m.scope !== scope || m.derived || m.n_baseline === 0 || m.n_interfered === 0) continue;
      if (scope === 'workload' && m.partition === null) continue;
      if (!picked.some((p) => p.metric === m.metric)) picked.push(m);
    }
  }
  if (picked.length === 0) return { cell: label, panels: [], why: `no counter of ${label} was measured both alone and with background` };
  const background = Object.fromEntries(runs.map((r) => [r.run, r.background]));
  const bgPartitions = [...new Set(runs.flatMap((r) => ((r.config.background_workloads as { partition?: string }[] | undefined) ?? []).map((b) => String(b.partition))))];
  const panels: SeriesPanel[] = [];
  for (const m of picked) {
    const answer = await api.get<SeriesAnswer>(`/api/series?run=${ids.map(q).join(',')}&metric=${q(m.metric)}&by=partition&points=200&events=5000`);
    panels.push(seriesPanel(m.metric, m.unit, m.scope === 'node' ? null : m.partition, background, bgPartitions, answer));
  }
  return { cell: label, panels, why: null };
}
