/**
 * Which nodes' samples reach the bus while the experiment runs: a consumer of its own (a fresh
 * group, from the end of the `samples` topic) notes the key of every message, which collectors set
 * to their node name. The runner waits here, before a node's first workload, for samples from its
 * collector, so a collector that runs but whose samples go nowhere (wrong brokers, a resident
 * collector reporting another name) fails the cell with that reason instead of an empty run.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, BusConsumer } from '../../bus/bus.js';

export class SampleArrivals {
  private readonly counts = new Map<string, number>();
  private consumer: BusConsumer | null = null;

  constructor(private readonly bus: Bus) {}

  async start(): Promise<void> {
    await this.bus.ensureTopics(['samples']);
    this.consumer = this.bus.consumer({ group: `isoscope-orchestrator-arrivals-${randomBytes(4).toString('hex')}`, topics: ['samples'], fromBeginning: false });
    await this.consumer.run(async (batch) => {
      for (const m of batch.messages) if (m.key !== null) this.counts.set(m.key, (this.counts.get(m.key) ?? 0) + 1);
    });
  }

  /** Samples batches seen from a node (by the name its collector stamps). */
  seen(node: string): number {
    return this.counts.get(node) ?? 0;
  }

  /** Names seen that are not in `known` (a collector stamping an unexpected node name). */
  others(known: readonly string[]): string[] {
    return [...this.counts.keys()].filter((k) => !known.includes(k));
  }

  /** Resolves true once a batch from `node` arrived, false after `timeoutMs`. */
  async waitFor(node: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    for (const end = Date.now() + timeoutMs; Date.now() < end && !signal?.aborted; await sleep(100)) if (this.seen(node) > 0) return true;
    return this.seen(node) > 0;
  }

  async shutdown(): Promise<void> {
    await this.consumer?.shutdown().catch(() => undefined);
    this.consumer = null;
  }
}
