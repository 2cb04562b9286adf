/**
 * Putting log lines on the wall-clock axis (DESIGN.md, Time). Linux lines count from their kernel's
 * boot: wall time = boot time + time since boot. Kitten (and Palacios-in-Kitten) lines carry no time
 * at all: live ones are stamped on receipt; a capture replayed after the fact is anchored on the
 * enclave's launch event from the orchestrator (`ReplayClock`).
 */
import { nowNs } from '../../core/clock.js';

const NS_PER_MS = 1_000_000n;

/**
 * ISO-8601 time to nanoseconds since the epoch, keeping up to nine fraction digits
 * (`2026-11-24T16:13:00.123456789Z`). A zone (`Z` or `±hh:mm`) is required.
 * @throws Error saying what was expected when `iso` is not such a time
 */
export function isoToNs(iso: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(iso.trim());
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) {
    throw new Error(`invalid time "${iso}": expected ISO-8601 with a zone, e.g. 2026-11-24T16:13:00.123456789Z`);
  }
  return BigInt(ms) * NS_PER_MS + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Boot time of the kernel this process runs on, ns since the epoch: now (CLOCK_REALTIME) minus the
 * monotonic clock, which is what printk and /dev/kmsg count from (neither counts suspend).
 */
export function localBootTimeNs(): bigint {
  const mono = process.hrtime.bigint();
  return nowNs() - mono;
}

/** Wall time of a line that says it was printed `sinceBootNs` after a boot at `bootTimeNs`. */
export function bootRelativeToWall(bootTimeNs: bigint, sinceBootNs: bigint): bigint {
  return bootTimeNs + sinceBootNs;
}

/** The lines a replay anchors on: the first lines of a Kitten enclave's boot. */
const ANCHOR = /(?:^|[\]>)] ?|:)(?:LWK version |Setting up pisces instance on CPU )/;

/** True when `line` is a Kitten boot line that marks the enclave's launch. */
export function isLaunchLine(line: string): boolean {
  return ANCHOR.test(line.slice(0, 200));
}

/** Index of the first launch line in `lines`, or 0 when there is none. */
export function findLaunchLine(lines: Iterable<string>): number {
  let i = 0;
  for (const l of lines) {
    if (isLaunchLine(l)) return i;
    i++;
  }
  return 0;
}

/**
 * Time for the lines of a replayed capture without timestamps. The launch line (index `anchorIndex`,
 * see `findLaunchLine`) gets `launchNs`, the orchestrator's launch event of that enclave; the line
 * k lines later gets `launchNs + k` ns (earlier lines, negative k). Only the order is real past the
 * anchor: the console does not say how much time passed between lines.
 */
export class ReplayClock {
  private index = 0;

  constructor(
    private readonly launchNs: bigint,
    private readonly anchorIndex = 0,
  ) {}

  /** The stamp of the next line. */
  next(): bigint {
    const t = this.launchNs + BigInt(this.index - this.anchorIndex);
    this.index++;
    return t < 0n ? 0n : t;
  }
}
