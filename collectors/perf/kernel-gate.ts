/**
 * Test support for the kernel tests of the perf and inventory sources: they may skip only where
 * the capability is truly missing (not Linux, no FFI, perf_event_open refused for lack of
 * privilege, no cgroup hierarchy for perf), printing why; ISOSCOPE_REQUIRE_KERNEL=1 (set in CI)
 * turns such a skip into a failure. Anything else that goes wrong is a failure, never a skip.
 */
import { readFileSync } from 'node:fs';
import { encodeAttr, PERF_FLAG, PERF_TYPE } from './attr.js';
import { describeOpenError } from './errno.js';
import { loadPerfNative, type PerfNative } from './native.js';

/** What the tests need, or why it is missing. */
export type Capability = { ok: true; native: PerfNative } | { ok: false; why: string };

/** perf_event_open works for a software event (task-clock) on CPU 0 system-wide. */
export function perfCapability(): Capability {
  const r = loadPerfNative();
  if (!r.ok) return { ok: false, why: r.reason };
  const fd = r.native.open(encodeAttr({ type: PERF_TYPE.software, config: 1n, disabled: true }), -1, 0, -1, PERF_FLAG.fdCloexec);
  if (fd < 0) {
    const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
    return { ok: false, why: `perf_event_open of a system-wide software event is refused: ${describeOpenError({ kind: 'software', name: 'task-clock' }, -fd, paranoid)}` };
  }
  r.native.close(fd);
  return { ok: true, native: r.native };
}

/** True when the process may create cgroups and mount file systems. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Skips the running test because `why` is missing on this machine, printing why; fails instead
 * when ISOSCOPE_REQUIRE_KERNEL=1.
 * @param skip the test context's `skip`.
 */
export function skipForMissingCapability(skip: (note?: string) => never, why: string): never {
  if (process.env.ISOSCOPE_REQUIRE_KERNEL === '1') throw new Error(`This kernel test cannot run here and ISOSCOPE_REQUIRE_KERNEL=1 forbids skipping: ${why}`);
  process.stderr.write(`skipped (capability missing): ${why}\n`);
  return skip(why);
}
