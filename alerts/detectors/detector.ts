/**
 * The detector contract: a pure, per-series state machine fed one value at a time. `update` says
 * whether the value breaches (true), is fine (false), or cannot be judged yet (null: a change-point
 * detector still warming up, a baseline not loaded). No I/O, no clock: the same series gives the
 * same verdicts live and in `isoscope alerts test`.
 */
export interface Detector {
  update(value: number): boolean | null;
  /** What the last verdict was based on, for alert messages, e.g. `z = 4.2 vs 3`. */
  explain(): string;
}
