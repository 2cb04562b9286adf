/**
 * The binary `struct perf_event_attr` (perf_event_open(2), include/uapi/linux/perf_event.h) that
 * perf_event_open takes, built as a plain Buffer so the layout is visible, testable byte by byte,
 * and independent of the FFI. Only counting (no sampling) is used, so most fields stay zero.
 */

/** perf_event_attr.type values. */
export const PERF_TYPE = { hardware: 0, software: 1, tracepoint: 2, hwCache: 3, raw: 4, breakpoint: 5 } as const;

/** perf_event_attr.read_format bits. */
export const PERF_FORMAT = { totalTimeEnabled: 1n, totalTimeRunning: 2n, id: 4n, group: 8n } as const;

/** The read format every counter here is opened with: one read(2) of the leader returns the whole group. */
export const GROUP_READ_FORMAT = PERF_FORMAT.group | PERF_FORMAT.totalTimeEnabled | PERF_FORMAT.totalTimeRunning | PERF_FORMAT.id;

/** perf_event_open flags. */
export const PERF_FLAG = { fdNoGroup: 1, fdOutput: 2, pidCgroup: 4, fdCloexec: 8 } as const;

/** ioctl requests on a perf event fd (x86_64 and aarch64 share the generic _IO encoding). */
export const PERF_IOC = {
  enable: 0x2400,
  disable: 0x2401,
  reset: 0x2403,
  /** _IOR('$', 7, __u64): the event's id as it appears in PERF_FORMAT_ID reads. */
  id: 0x80082407,
  /** Argument of enable/disable/reset: apply to the whole group of the leader. */
  flagGroup: 1,
} as const;

/** Size of the attr passed to the kernel (PERF_ATTR_SIZE_VER7, Linux 5.13+; older kernels accept it when the tail is zero). */
export const PERF_ATTR_SIZE = 128;

/** What varies between the counters opened here. */
export interface AttrFields {
  type: number;
  config: bigint;
  config1?: bigint;
  config2?: bigint;
  /** Open disabled: set on group leaders, which are enabled once the group is complete. */
  disabled: boolean;
  excludeUser?: boolean;
  excludeKernel?: boolean;
  excludeHv?: boolean;
}

/** Bit positions in the flags word at offset 40. */
const FLAG_BIT = { disabled: 0n, excludeUser: 4n, excludeKernel: 5n, excludeHv: 6n } as const;

/**
 * Encodes a counting perf_event_attr (no sampling, group read format).
 * @example encodeAttr({ type: PERF_TYPE.software, config: 1n, disabled: true }) // task-clock, leader
 */
export function encodeAttr(f: AttrFields): Buffer {
  const b = Buffer.alloc(PERF_ATTR_SIZE);
  b.writeUInt32LE(f.type, 0);
  b.writeUInt32LE(PERF_ATTR_SIZE, 4);
  b.writeBigUInt64LE(f.config, 8);
  // 16: sample_period, 24: sample_type stay 0 (counting only)
  b.writeBigUInt64LE(GROUP_READ_FORMAT, 32);
  let flags = 0n;
  if (f.disabled) flags |= 1n << FLAG_BIT.disabled;
  if (f.excludeUser) flags |= 1n << FLAG_BIT.excludeUser;
  if (f.excludeKernel) flags |= 1n << FLAG_BIT.excludeKernel;
  if (f.excludeHv) flags |= 1n << FLAG_BIT.excludeHv;
  b.writeBigUInt64LE(flags, 40);
  b.writeBigUInt64LE(f.config1 ?? 0n, 56);
  b.writeBigUInt64LE(f.config2 ?? 0n, 64);
  return b;
}
