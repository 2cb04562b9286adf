/** Options of the `kvm` driver (a partition's `options:` in the experiment file). */
import { z } from 'zod';

const nodePath = (what: string) => z.string().regex(/^\/[A-Za-z0-9_.+@/-]*$/, `expected ${what} as an absolute path of letters, digits and "_.+@/-"`);

export const kvmOptions = z.strictObject({
  /** `kvm`, `tcg`, or `auto`: KVM when a short probe boot works on the node, else TCG (software emulation). @default auto */
  accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  /** How long the KVM probe boot may take before KVM counts as not working. @default 10 */
  kvmProbeSeconds: z.number().positive().max(300).default(10),
  /** How long the guest may take to boot and start its agent. @default 120 */
  bootSeconds: z.number().positive().max(3600).default(120),
  /** Guest kernel image on the node. @default the newest /boot/vmlinuz-* */
  kernel: nodePath('the kernel image').optional(),
  /** The kernel's modules directory (virtio, 9p). @default /lib/modules/<version from the kernel's file name> */
  modules: nodePath('the modules directory').optional(),
  /** A ready-made initramfs instead of the built one; its init must start the guest agent (see README). */
  initramfs: nodePath('the initramfs').optional(),
  /** vCPU count. @default the number of the partition's CPUs */
  vcpus: z.number().int().min(1).max(1024).optional(),
  /** Guest memory, MiB, when the partition's memMb is 0. @default 512 */
  defaultMemMb: z.number().int().min(64).default(512),
  /** QEMU binary on the node. @default qemu-system-x86_64 */
  qemu: z.string().regex(/^[A-Za-z0-9_./+-]+$/, 'expected a program name or path').default('qemu-system-x86_64'),
  /** Static busybox on the node (the initramfs's shell). @default /bin/busybox */
  busybox: nodePath('busybox').default('/bin/busybox'),
  /** node.js on the node, run in the guest from the shared root for the agent. @default the node found on PATH */
  nodejs: nodePath('node.js').optional(),
  /** Directory on the node for the VMs' sockets, logs and initramfs. @default /tmp/isoscope-kvm */
  stateRoot: nodePath('the state directory').default('/tmp/isoscope-kvm'),
  /** Directory under the cpuset hierarchy that holds the VMs' cgroups. @default "isoscope" */
  cgroupRoot: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected one directory name').default('isoscope'),
});
export type KvmOptions = z.infer<typeof kvmOptions>;
