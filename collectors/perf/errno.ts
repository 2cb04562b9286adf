/**
 * perf_event_open errors in words. The kernel answers with a bare errno whose meaning depends on
 * what was asked (ENOENT for a hardware event in a VM means "no such counter", not "no such file"),
 * so the translation takes the kind of event into account. Pure.
 */
import type { EventSpec } from './events.js';

const NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 7: 'E2BIG', 9: 'EBADF', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY',
  19: 'ENODEV', 22: 'EINVAL', 24: 'EMFILE', 28: 'ENOSPC', 75: 'EOVERFLOW', 95: 'EOPNOTSUPP',
};

const HARDWARE_HINT = 'hardware counters are often unavailable in VMs';

/** The symbolic name of an errno, e.g. 95 → EOPNOTSUPP. */
export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}

/**
 * A sentence saying why an event could not be opened, e.g.
 * "cycles: not supported on this machine (EOPNOTSUPP: the PMU has no such counter; hardware counters are often unavailable in VMs)".
 * @param paranoid the value of /proc/sys/kernel/perf_event_paranoid, when known, for permission errors.
 */
export function describeOpenError(spec: Pick<EventSpec, 'kind' | 'name'>, errno: number, paranoid?: number): string {
  const name = errnoName(errno);
  const pmuKinds = spec.kind === 'hardware' || spec.kind === 'cache' || spec.kind === 'raw' || spec.kind === 'pmu';
  const why = ((): string => {
    switch (errno) {
      case 2: // ENOENT
      case 95: // EOPNOTSUPP
      case 19: // ENODEV
        if (pmuKinds) return `not supported on this machine (${name}: the PMU has no such counter; ${HARDWARE_HINT})`;
        return `not supported by this kernel (${name}: the kernel does not provide this event)`;
      case 1: // EPERM
      case 13: { // EACCES
        const level = paranoid === undefined ? '' : ` is ${paranoid}`;
        return `permission denied (${name}: run as root or with CAP_PERFMON, or lower /proc/sys/kernel/perf_event_paranoid${level})`;
      }
      case 22: // EINVAL
        return `refused by the kernel (EINVAL: the event's configuration or flags are invalid for this kernel or PMU${pmuKinds ? `; ${HARDWARE_HINT}` : ''})`;
      case 16:
        return 'busy (EBUSY: the counter is in exclusive use, e.g. by another profiler or the NMI watchdog)';
      case 28:
        return 'no counter free (ENOSPC: the PMU has no free slot for this event)';
      case 24:
        return 'too many open files (EMFILE: raise the open-file limit, e.g. `ulimit -n`; each event needs one descriptor per CPU)';
      case 3:
        return 'no such process (ESRCH: the pid to count has exited)';
      case 9:
        return 'bad descriptor (EBADF: the cgroup or group leader descriptor is not valid for this event)';
      case 7:
        return 'attribute size refused (E2BIG: this kernel is older than the perf_event_attr layout used)';
      case 12:
        return 'out of memory (ENOMEM)';
      case 75:
        return 'too many events in the group (EOVERFLOW)';
      default:
        return `failed (${name})`;
    }
  })();
  return `${spec.name}: ${why}`;
}
