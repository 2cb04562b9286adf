/**
 * What the report says in words, shared by the HTML and Markdown documents: the state of the runs
 * (failed, aborted, unfinished, single repetitions, no samples) and one line per cell.
 */
import { fmt } from './specs/common.js';
import { cellLabel } from './specs/slowdown.js';
import type { ReportData } from './gather.js';

/** Sentences about the experiment's runs; empty when there is nothing to warn about. */
export function warnings(d: ReportData): string[] {
  const out: string[] = [];
  const r = d.comparison.runs;
  if (r.end === 0) out.push(`No run of ${d.experiment} finished: ${r.fail} failed, ${r.abort} aborted, ${r.running} not ended. There is no figure of merit to draw.`);
  if (r.fail > 0) out.push(`${r.fail} run${r.fail === 1 ? '' : 's'} failed; ${r.fail === 1 ? 'it is' : 'they are'} left out of every figure.`);
  if (r.abort > 0) out.push(`${r.abort} run${r.abort === 1 ? ' was' : 's were'} aborted; left out of every figure.`);
  if (r.running > 0) out.push(`${r.running} run${r.running === 1 ? ' has' : 's have'} not ended (still running, or the orchestrator stopped without recording an end).`);
  const single = d.comparison.cells.some((c) => c.baseline.n === 1 || c.interfered.n === 1);
  if (single) out.push('Some cells have a single repetition on a side: their points have no interval and effect sizes (Hedges\' g) need two runs a side.');
  if (d.runs.length > 0 && d.runs.every((x) => x.samples === 0)) out.push(`No samples are tagged with any run of ${d.experiment}: no collector ran during the runs, or its node name did not match the experiment's node names, so there are no counters to explain the slowdown.`);
  else {
    const none = d.runs.filter((x) => x.status === 'end' && x.samples === 0);
    if (none.length) out.push(`${none.length} finished run${none.length === 1 ? ' has' : 's have'} no samples: ${none.map((x) => x.run).join(', ')}.`);
  }
  if (d.comparison.versions.length > 1) out.push(`The experiment has ${d.comparison.versions.length} versions (spec hashes); this report shows ${d.comparison.spec_hash}.`);
  return out;
}

const interval = (g: { estimate: number; low: number | null; high: number | null } | null) =>
  g === null ? '–' : g.low === null || g.high === null ? fmt(g.estimate) : `${fmt(g.estimate)} [${fmt(g.low)}, ${fmt(g.high)}]`;

/** One row per cell: label, alone, with background, slowdown, notes. */
export function cellRows(d: ReportData): string[][] {
  return d.comparison.cells.map((c) => [
    `${c.workload} · ${cellLabel(c.stack, c.node_count)}`,
    `${interval(c.baseline.geometric_mean)} (n=${c.baseline.n})`,
    `${interval(c.interfered.geometric_mean)} (n=${c.interfered.n})`,
    c.slowdown ? interval(c.slowdown) : c.slowdown_estimate !== null ? `${fmt(c.slowdown_estimate)} (no interval)` : '–',
    c.notes.join('; '),
  ]);
}

export const CELL_HEADER = ['cell', 'alone: geometric mean [95 % CI]', 'with background', 'slowdown [95 % CI]', 'notes'];

export const RUN_HEADER = ['run', 'stack', 'nodes', 'background', 'rep.', 'status', 'result', 'samples', 'message'];
export function runRows(d: ReportData): string[][] {
  return d.runs.map((r) => [r.run, r.stack, String(r.node_count), r.background ? 'yes' : 'no', String(r.repetition), r.status, r.result === null ? '–' : `${fmt(r.result)}${r.unit ? ` ${r.unit}` : ''}`, String(r.samples), r.message ?? '']);
}

export function provenanceRows(d: ReportData): [string, string][] {
  const p = d.provenance;
  const rows: [string, string][] = [
    ['report made by', `isoscope ${d.isoscope_version} at ${d.generated_at}`],
    ['experiment versions (spec hash)', p.spec_hashes.join(', ') || '–'],
    ['experiment files', p.experiment_files.join(', ') || '–'],
    ['catalog entries', p.catalog.map((c) => `${c.entry} v${String(c.version)} (${c.role})`).join(', ') || '–'],
    ['drivers', p.drivers.join(', ') || '–'],
    ['isoscope that ran the experiment', p.isoscope_versions.join(', ') || 'not recorded'],
  ];
  for (const n of p.nodes) {
    rows.push([`node ${n.node}: kernel`, n.kernel ?? '–']);
    if (n.inventory_at === null) {
      rows.push([`node ${n.node}: inventory`, `no node_inventory event from a node named ${n.node} (no collector with that node name ran)`]);
      continue;
    }
    rows.push([`node ${n.node}: command line`, n.cmdline ?? '–']);
    rows.push([`node ${n.node}: CPUs`, n.cpus ?? '–']);
    rows.push([`node ${n.node}: NUMA`, n.numa ?? '–']);
    rows.push([`node ${n.node}: SR-IOV`, n.sriov ?? '–']);
    rows.push([`node ${n.node}: IOMMU groups`, n.iommu_groups === null ? '–' : String(n.iommu_groups)]);
    rows.push([`node ${n.node}: modules`, n.modules === null ? 'no module support' : `${n.modules.length}: ${n.modules.join(' ')}`]);
  }
  return rows;
}
