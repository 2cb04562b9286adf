/**
 * Whether this process may load BPF programs: bpf(2) BPF_PROG_LOAD of the smallest valid program
 * (a socket filter "r0 = 0; exit"), closed at once. The native call sits here, behind one
 * function, with a "not available here" answer where koffi or the syscall number is missing.
 */
import { closeSync } from 'node:fs';
import { loadLibc } from '../../core/libc.js';

/** bpf syscall numbers; Node's arch names. */
const SYS_BPF: Partial<Record<NodeJS.Architecture, number>> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_TYPE_SOCKET_FILTER = 1;

/** 0 when a program loaded, else the errno; or a reason when bpf(2) cannot be called here. */
export type BpfProbe = { loaded: true } | { loaded: false; errno: number } | { loaded: false; reason: string };

/** Tries BPF_PROG_LOAD once. */
export function probeBpfLoad(): BpfProbe {
  const nr = SYS_BPF[process.arch];
  if (process.platform !== 'linux' || nr === undefined) return { loaded: false, reason: `bpf(2) is not known for ${process.platform}/${process.arch}` };
  const loaded = loadLibc();
  if (!loaded.ok) return { loaded: false, reason: loaded.reason };
  const { koffi, libc } = loaded;
  const syscall = libc.func('long syscall(long number, ...)');
  // The leading fields of union bpf_attr used by BPF_PROG_LOAD (include/uapi/linux/bpf.h).
  const attrType = koffi.struct({
    prog_type: 'uint32_t', insn_cnt: 'uint32_t', insns: 'void *', license: 'const char *',
    log_level: 'uint32_t', log_size: 'uint32_t', log_buf: 'void *', kern_version: 'uint32_t', prog_flags: 'uint32_t',
  });
  const insns = Buffer.alloc(16);
  insns[0] = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K: r0 = 0
  insns[8] = 0x95; // BPF_JMP | BPF_EXIT
  const attr = { prog_type: BPF_PROG_TYPE_SOCKET_FILTER, insn_cnt: 2, insns, license: 'GPL', log_level: 0, log_size: 0, log_buf: null, kern_version: 0, prog_flags: 0 };
  const fd = Number(syscall(nr, 'int', BPF_PROG_LOAD, koffi.pointer(attrType), attr, 'unsigned int', koffi.sizeof(attrType)));
  if (fd < 0) return { loaded: false, errno: koffi.errno() };
  closeSync(fd);
  return { loaded: true };
}
