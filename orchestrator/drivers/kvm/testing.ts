/** Test helpers for the kvm driver: whether this machine can run a TCG guest, and why not. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** Why kvm tests cannot run here, or null when they can (root, QEMU, a kernel image, static busybox). */
export function vmSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root (cgroups and QEMU pinning need it)';
  try { execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }); } catch { return 'no qemu-system-x86_64 (package qemu-system-x86)'; }
  if (!existsSync('/bin/busybox')) return 'no /bin/busybox (package busybox-static)';
  if (!readdirSync('/boot').some((f) => f.startsWith('vmlinuz-'))) return 'no /boot/vmlinuz-* (package linux-image-amd64)';
  return null;
}

