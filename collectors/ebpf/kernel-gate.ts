/**
 * Test support for the ebpf kernel tests: they may skip only where the capability is truly missing
 * (no libbpf, no BTF, not root), printing why; ISOSCOPE_REQUIRE_KERNEL=1 turns a skip into a
 * failure (through the perf source's gate). Programs that are not built are a failure, not a skip:
 * the test run builds them first (collectors/ebpf/build.sh).
 */
import { existsSync } from 'node:fs';
import { loadBpfNative, type BpfNative } from './native.js';

export type BpfCapability = { ok: true; native: BpfNative } | { ok: false; why: string };

export function bpfCapability(): BpfCapability {
  const r = loadBpfNative();
  if (!r.ok) return { ok: false, why: r.reason };
  if (process.getuid?.() !== 0) return { ok: false, why: 'loading BPF programs needs root (CAP_BPF and CAP_PERFMON)' };
  if (!existsSync('/sys/kernel/btf/vmlinux')) return { ok: false, why: 'this kernel has no BTF (/sys/kernel/btf/vmlinux), which CO-RE programs need' };
  return { ok: true, native: r.native };
}
