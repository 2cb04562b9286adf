/**
 * The programs each partition driver runs on a node, from a partition's options, so preflight can
 * look every one up (`command -v`, or `-x` for a path) on every node before the first run, and name
 * the option that chose it. Keep in step with what the drivers exec.
 */
import { join } from 'node:path';
import type { DriverName } from './driver.js';
import type { KvmOptions } from './kvm/config.js';
import type { PalaciosVmOptions } from './palacios-vm/config.js';
import type { PiscesKittenOptions } from './pisces-kitten/config.js';

/** A program and the field (below the partition) that names it. */
export interface DriverTool {
  tool: string;
  field: string;
}

const PISCES = ['pisces_load', 'pisces_launch', 'pisces_ctrl', 'pisces_shutdown', 'pisces_run'];
const PALACIOS = ['v3_create', 'v3_launch', 'v3_stop', 'v3_free'];

/**
 * @param options the partition's options, already parsed by the driver's schema
 * @param parent for a partition inside another (a Palacios VM in a Kitten enclave): the parent's driver and parsed options
 */
export function driverTools(driver: DriverName, options: unknown, parent?: { driver: DriverName; options: unknown }): DriverTool[] {
  switch (driver) {
    case 'kvm': {
      const o = options as KvmOptions;
      return [
        { tool: o.qemu, field: 'options.qemu' },
        { tool: 'taskset', field: 'driver (vCPU pinning)' },
        ...(o.accel === 'tcg' ? [] : [{ tool: 'timeout', field: 'options.accel (the KVM probe boot)' }]),
        // Without a ready-made initramfs the driver builds one from busybox, cpio'd and gzipped.
        ...(o.initramfs ? [] : [{ tool: o.busybox, field: 'options.busybox' }, { tool: 'gzip', field: 'options.initramfs (not set: the driver builds one)' }]),
      ];
    }
    case 'pisces-kitten': {
      const o = options as PiscesKittenOptions;
      return PISCES.map((t) => ({ tool: join(o.toolsDir, t), field: 'options.toolsDir' }));
    }
    case 'palacios-vm': {
      const o = options as PalaciosVmOptions;
      // In an enclave the Pisces flavour of the v3_* tools: piscesToolsDir, else the enclave's own tools.
      const inEnclave = parent?.driver === 'pisces-kitten';
      const dir = inEnclave ? (o.piscesToolsDir ?? (parent.options as PiscesKittenOptions).toolsDir) : o.toolsDir;
      const field = inEnclave ? (o.piscesToolsDir ? 'options.piscesToolsDir' : 'parent (its options.toolsDir)') : 'options.toolsDir';
      const launcher = o.launcher[0]!;
      return [...PALACIOS.map((t) => ({ tool: join(dir, t), field })), ...(launcher.includes('{') ? [] : [{ tool: launcher, field: 'options.launcher[0]' }])];
    }
    default:
      return [];
  }
}
