/**
 * Which perf events this machine lets the collector open: the perf source itself is started on
 * every online CPU with the events, read for what opened and what did not (with the kernel's reason
 * in words), and closed. Preflight runs it on every node before the first run (in-process for a
 * local node, `isoscope collector --probe-events … --json` over SSH), so the answer is the
 * collector's own, not a second opinion.
 */
import { perfConfigSchema } from './config.js';
import { PerfSource, type EventProblem } from './perf.js';
import type { NativeResult } from './native.js';

export interface EventProbe {
  /** Events that opened on at least one CPU. */
  counting: string[];
  /** Events that did not open (anywhere, or on some CPUs), each with why. */
  unsupported: EventProblem[];
  /** Set when the perf source cannot run here at all (no perf_event_open); then nothing counts. */
  error?: string;
}

export async function probeEvents(events: readonly string[], native?: NativeResult): Promise<EventProbe> {
  const config = perfConfigSchema.parse({ events: [...events], scope: { kind: 'cpu' } });
  const source = native ? new PerfSource(config, native) : new PerfSource(config);
  try {
    await source.start();
    // Read before the shutdown below closes the groups `counting` is computed from.
    return { counting: source.counting, unsupported: [...source.unsupported] };
  } catch (err) {
    // Nothing opened: the per-event reasons are there all the same; without them, the source's own.
    const unsupported = [...source.unsupported];
    if (unsupported.length === 0) return { counting: [], unsupported: events.map((event) => ({ event, reason: (err as Error).message })), error: (err as Error).message };
    return { counting: [], unsupported };
  } finally {
    await source.shutdown();
  }
}
