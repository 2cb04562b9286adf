/**
 * Decoding of one read(2) of a group leader opened with PERF_FORMAT_GROUP |
 * TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING | ID, and the interval arithmetic on two such reads:
 *   u64 nr; u64 time_enabled; u64 time_running; { u64 value; u64 id; } values[nr];
 * Counts are deltas scaled for multiplexing: value × enabled / running over the interval, and the
 * ratio running / enabled is kept as `scale` so a reader can see how much was estimated. Pure.
 */

export interface GroupReading {
  /** Nanoseconds the group was enabled, since it was opened. */
  enabled: bigint;
  /** Nanoseconds the group was actually on the PMU (less than enabled when multiplexed). */
  running: bigint;
  /** Count per event id. */
  values: Map<bigint, bigint>;
}

/** Bytes a read of a group of `n` events returns. */
export const groupReadSize = (n: number): number => 24 + 16 * n;

/**
 * Decodes the bytes of one group read.
 * @param length bytes read(2) returned.
 * @throws Error when the length does not match the count in the header.
 */
export function decodeGroupRead(buf: Buffer, length: number): GroupReading {
  if (length < 24) throw new Error(`perf group read returned ${length} bytes; expected at least 24 (nr, time_enabled, time_running)`);
  const nr = Number(buf.readBigUInt64LE(0));
  if (length !== groupReadSize(nr)) throw new Error(`perf group read of ${nr} events returned ${length} bytes; expected ${groupReadSize(nr)}`);
  const values = new Map<bigint, bigint>();
  for (let i = 0; i < nr; i++) values.set(buf.readBigUInt64LE(32 + 16 * i), buf.readBigUInt64LE(24 + 16 * i));
  return { enabled: buf.readBigUInt64LE(8), running: buf.readBigUInt64LE(16), values };
}

/** One event's result over an interval. */
export interface ScaledDelta {
  /** The count over the interval, scaled up by enabled/running when the group was multiplexed. */
  value: number;
  /** running/enabled over the interval: 1 = counted all the time, 0 = never on the PMU (value unknown, reported as 0). */
  scale: number;
}

/**
 * Scales a raw count delta for multiplexing.
 * - enabled and running both 0: the group was never scheduled (a cgroup that did not run on that
 *   CPU): the count is exactly the raw delta (0), scale 1.
 * - running 0, enabled > 0: it never got a counter: value 0, scale 0.
 * @example scaleDelta(1000n, 10_000_000n, 5_000_000n) // { value: 2000, scale: 0.5 }
 */
export function scaleDelta(raw: bigint, enabled: bigint, running: bigint): ScaledDelta {
  if (enabled <= 0n || running >= enabled) return { value: Number(raw), scale: 1 };
  if (running <= 0n) return { value: 0, scale: 0 };
  const scale = Number(running) / Number(enabled);
  return { value: Number(raw) / scale, scale };
}

/**
 * Per-event scaled deltas between two readings of the same group. Events missing from either
 * reading, and counters that went backwards, are left out.
 */
export function groupDeltas(before: GroupReading, after: GroupReading): Map<bigint, ScaledDelta> {
  const enabled = after.enabled - before.enabled;
  const running = after.running - before.running;
  const out = new Map<bigint, ScaledDelta>();
  for (const [id, value] of after.values) {
    const prev = before.values.get(id);
    if (prev === undefined || value < prev) continue;
    out.set(id, scaleDelta(value - prev, enabled, running));
  }
  return out;
}
