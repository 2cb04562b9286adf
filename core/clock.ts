/**
 * Wall-clock time in integer nanoseconds (CLOCK_REALTIME, as DESIGN.md requires for `ts`).
 * Date.now() has millisecond resolution only, so the realtime clock is read once and advanced with
 * the monotonic high-resolution clock; re-anchoring every minute keeps NTP steps visible.
 */
const REANCHOR_NS = 60_000_000_000n;
let anchorWall = 0n;
let anchorMono = 0n;

function anchor(): void {
  anchorMono = process.hrtime.bigint();
  anchorWall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** Nanoseconds since the Unix epoch. */
export function nowNs(): bigint {
  const mono = process.hrtime.bigint();
  if (anchorMono === 0n || mono - anchorMono > REANCHOR_NS) {
    anchor();
    return anchorWall;
  }
  return anchorWall + (mono - anchorMono);
}

/** Nanoseconds → ISO-8601 with nine fraction digits, e.g. `2026-11-24T16:13:00.123456789Z`. */
export function nsToIso(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  return `${base}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}
