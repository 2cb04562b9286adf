/** Options of the procfs source. */
import { z } from 'zod';

export const procfsConfigSchema = z
  .object({
    /** Path of the stat file; tests point it at testdata/. @default /proc/stat */
    statPath: z.string().default('/proc/stat'),
    /** Clock ticks per second of the kernel's /proc/stat counters (USER_HZ). @default 100 */
    ticksPerSecond: z.number().int().positive().default(100),
  })
  .strict();

export type ProcfsConfig = z.output<typeof procfsConfigSchema>;
