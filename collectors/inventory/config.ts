/** Options of the inventory source. */
import { z } from 'zod';

export const inventoryConfigSchema = z
  .object({
    /** Root of sysfs; tests point it at a testdata/ tree. @default /sys */
    sysfs: z.string().default('/sys'),
    /** Root of procfs; tests point it at a testdata/ tree. @default /proc */
    procfs: z.string().default('/proc'),
    /**
     * Re-read the inventory every this many calls of `collect()` (the agent calls it once per
     * interval); an event is emitted only when something changed. @default 60
     */
    checkEvery: z.number().int().positive().default(60),
    /** Probe hardware counters, tracepoints and BPF on this machine (off for testdata trees). @default true */
    probes: z.boolean().default(true),
  })
  .strict();

export type InventoryConfig = z.output<typeof inventoryConfigSchema>;
