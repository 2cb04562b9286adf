/** Tagging a samples batch: when its watermark passes, and filling in `run` and `partition`. */
import type { DeliveredMessage } from '../bus/bus.js';
import type { Sample } from '../schema/records.js';
import type { OwnershipIndex } from './ownership.js';

/**
 * Wall time (ms) after which no more control records are awaited for these samples: the newest
 * sample's ts, or the newest bus timestamp if earlier (a collector clock running ahead must not
 * hold a batch for long), plus the watermark. A backlog older than the watermark waits not at all.
 * @example watermarkDeadline([{ ts: 5_000_000_000n }], [{ timestampMs: 9000 }], 3000) === 8000
 */
export function watermarkDeadline(samples: readonly Pick<Sample, 'ts'>[], messages: readonly Pick<DeliveredMessage, 'timestampMs'>[], watermarkMs: number): number {
  let newest: bigint | null = null;
  for (const s of samples) if (newest === null || s.ts > newest) newest = s.ts;
  return deadlineAfter(newest, messages, watermarkMs);
}

/** The same from the newest sample ts already found (null: no sample). */
export function deadlineAfter(newest: bigint | null, messages: readonly Pick<DeliveredMessage, 'timestampMs'>[], watermarkMs: number): number {
  const newestTs = newest === null ? -Infinity : Number(newest / 1_000_000n);
  let newestBus = -Infinity;
  for (const m of messages) if (Number.isFinite(m.timestampMs)) newestBus = Math.max(newestBus, m.timestampMs);
  const base = newestBus === -Infinity ? newestTs : Math.min(newestTs, newestBus);
  return base + watermarkMs;
}

/** Fills in each sample's run and partition from the index (keeping values it has); returns how many got one. */
export function tagSamples(samples: Sample[], index: OwnershipIndex): number {
  let tagged = 0;
  for (const s of samples) {
    const owners = index.ownersOf(s);
    if ((owners.run !== null && s.run == null) || (owners.partition !== null && s.partition == null)) tagged++;
    s.run = owners.run;
    s.partition = owners.partition;
  }
  return tagged;
}

/** Samples that got no run although runs were active at their time: their node is named by no run. */
export interface Unmatched {
  node: string;
  count: number;
  /** The runs active then, with the nodes they name (for the logged reason). */
  active: { run: string; nodes: string[] }[];
}

/** After tagging: per node, the samples left without a run while some run was active. */
export function unmatchedSamples(samples: readonly Sample[], index: OwnershipIndex): Unmatched[] {
  const byNode = new Map<string, { count: number; ts: bigint }>();
  for (const s of samples) {
    if (s.run != null) continue;
    const e = byNode.get(s.node) ?? { count: 0, ts: s.ts };
    e.count++;
    if (s.ts > e.ts) e.ts = s.ts;
    byNode.set(s.node, e);
  }
  const out: Unmatched[] = [];
  for (const [node, { count, ts }] of byNode) {
    const active = index.activeRunsAt(ts);
    if (active.length) out.push({ node, count, active });
  }
  return out;
}
