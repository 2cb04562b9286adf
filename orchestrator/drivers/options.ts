/**
 * Each driver's option schema by driver name, so preflight can check every partition's `options:`
 * for the whole matrix before a run starts (the drivers check them again when they create).
 */
import type { z } from 'zod';
import type { DriverName } from './driver.js';
import { kvmOptions } from './kvm/config.js';
import { linuxCpusetOptions } from './linux-cpuset/config.js';
import { palaciosVmOptionsSchema } from './palacios-vm/config.js';
import { piscesKittenOptionsSchema } from './pisces-kitten/config.js';

export const DRIVER_OPTIONS: Partial<Record<DriverName, z.ZodType>> = {
  'linux-cpuset': linuxCpusetOptions,
  'pisces-kitten': piscesKittenOptionsSchema,
  'palacios-vm': palaciosVmOptionsSchema,
  kvm: kvmOptions,
};
