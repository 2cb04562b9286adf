/**
 * The component contract shared by every long-lived part of isoscope (collectors, buses, stores,
 * ingest, servers): `start()` then `shutdown(deadline)`. `shutdown` must be safe without `start`,
 * idempotent, and flush whatever the component still holds before the deadline.
 */
export interface Lifecycle {
  start(): Promise<void>;
  /** @param deadlineMs how long flushing may take before the component gives up. @default 10000 */
  shutdown(deadlineMs?: number): Promise<void>;
}
