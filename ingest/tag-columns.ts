/**
 * Tagging samples held by column (one segment per bus message, schema/column-batch.ts): the same
 * owners as `tagSamples` (ingest/tagging.ts), assigned column-wise. The owners of a row depend on its
 * node, ts and CPU; within a collector batch node and ts are one constant and the CPU takes a few
 * values, so the index is asked once per (node, ts, CPU) change and the run and partition columns
 * come out constant whenever every row got the same owner.
 */
import { columnIndex, compact, valueAt, type Column, type Segment } from '../schema/column-batch.js';
import type { Owners, OwnershipIndex } from './ownership.js';
import type { Unmatched } from './tagging.js';

const TS = columnIndex('samples', 'ts');
const NODE = columnIndex('samples', 'node');
const CPU = columnIndex('samples', 'cpu');
const RUN = columnIndex('samples', 'run');
const PARTITION = columnIndex('samples', 'partition');
const COLLECTOR = columnIndex('samples', 'collector');
const SEQ = columnIndex('samples', 'seq');

/** The segment with run and partition filled in (values the samples carry are kept), and how many samples got one. */
export function tagSegment(seg: Segment, index: OwnershipIndex): { segment: Segment; tagged: number } {
  const { n, cols } = seg;
  const node = cols[NODE] ?? null;
  const ts = cols[TS] ?? null;
  const cpu = cols[CPU] ?? null;
  const run = cols[RUN] ?? null;
  const partition = cols[PARTITION] ?? null;
  // A collector batch of a node no run or partition ever named (between experiments, or a node no
  // experiment uses) has no owner for any row: no per-row work (it was a loop over every sample).
  if (n > 0 && node !== null && 'c' in node && typeof node.c === 'string' && !index.knowsNode(node.c) && isNone(run) && isNone(partition)) {
    const out = [...cols];
    out[RUN] = out[PARTITION] = { c: null };
    return { segment: { n, cols: out }, tagged: 0 };
  }
  const runs = new Array<string | null>(n);
  const partitions = new Array<string | null>(n);
  const byCpu = new Map<unknown, Owners>();
  let lastNode: unknown = undefined;
  let lastTs: unknown = undefined;
  let tagged = 0;
  for (let i = 0; i < n; i++) {
    const nd = valueAt(node, i) as string;
    const t = valueAt(ts, i) as bigint;
    const c = valueAt(cpu, i) as number;
    const r0 = valueAt(run, i) as string | null;
    const p0 = valueAt(partition, i) as string | null;
    let owners: Owners;
    if (r0 === null && p0 === null) {
      if (nd !== lastNode || t !== lastTs) {
        byCpu.clear();
        lastNode = nd;
        lastTs = t;
      }
      let o = byCpu.get(c);
      if (!o) byCpu.set(c, (o = index.ownersOf({ node: nd, cpu: c, ts: t })));
      owners = o;
    } else owners = index.ownersOf({ node: nd, cpu: c, ts: t, run: r0, partition: p0 });
    if ((owners.run !== null && r0 === null) || (owners.partition !== null && p0 === null)) tagged++;
    runs[i] = owners.run;
    partitions[i] = owners.partition;
  }
  const out = [...cols];
  out[RUN] = n > 0 ? compact(runs) : run;
  out[PARTITION] = n > 0 ? compact(partitions) : partition;
  return { segment: { n, cols: out }, tagged };
}

/** A run or partition column that names nothing: absent, or constant null. */
function isNone(col: Column | null): boolean {
  return col === null || ('c' in col && col.c === null);
}

/** After tagging: per node, the samples left without a run while some run was active (as `unmatchedSamples`). */
export function unmatchedInSegments(segments: readonly Segment[], index: OwnershipIndex): Unmatched[] {
  const byNode = new Map<string, { count: number; ts: bigint }>();
  for (const { n, cols } of segments) {
    const run = cols[RUN] ?? null;
    if (run !== null && 'c' in run && run.c !== null) continue; // every sample has its run
    for (let i = 0; i < n; i++) {
      if (valueAt(run, i) !== null) continue;
      const node = valueAt(cols[NODE] ?? null, i) as string;
      const ts = valueAt(cols[TS] ?? null, i) as bigint;
      const e = byNode.get(node);
      if (!e) byNode.set(node, { count: 1, ts });
      else {
        e.count++;
        if (ts > e.ts) e.ts = ts;
      }
    }
  }
  const out: Unmatched[] = [];
  for (const [node, { count, ts }] of byNode) {
    const active = index.activeRunsAt(ts);
    if (active.length) out.push({ node, count, active });
  }
  return out;
}

/** The newest sample ts of a segment (null when it has none): what its watermark waits for. */
export function newestTs(seg: Segment): bigint | null {
  const col = seg.cols[TS] ?? null;
  if (col === null || seg.n === 0) return null;
  if ('c' in col) return col.c as bigint;
  if (!('a' in col)) return null;
  let newest: bigint | null = null;
  for (const t of col.a) if (newest === null || (t as bigint) > newest) newest = t as bigint;
  return newest;
}

/**
 * What the sequence-gap check needs of a segment: one entry per change of (collector, seq), which
 * is one entry for a collector batch.
 */
export function seqKeys(seg: Segment): { collector: string; seq: number; node: string; ts: bigint }[] {
  const { n, cols } = seg;
  const collector = cols[COLLECTOR] ?? null;
  const seq = cols[SEQ] ?? null;
  const at = (i: number) => ({ collector: valueAt(collector, i) as string, seq: valueAt(seq, i) as number, node: valueAt(cols[NODE] ?? null, i) as string, ts: valueAt(cols[TS] ?? null, i) as bigint });
  if (n === 0) return [];
  if (collector !== null && 'c' in collector && seq !== null && 'c' in seq) return [at(0)];
  const out = [at(0)];
  for (let i = 1; i < n; i++) {
    if (valueAt(collector, i) !== valueAt(collector, i - 1) || valueAt(seq, i) !== valueAt(seq, i - 1)) out.push(at(i));
  }
  return out;
}
