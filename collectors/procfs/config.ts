/** Options of the procfs source. */
import { z } from 'zod';

export const procfsConfigSchema = z
  .object({
    /** Path of the stat file; tests point it at testdata/. @default /proc/stat */
    statPath: z.string().default('/proc/stat'),
    /** Clock ticks per second of the kernel's /proc/stat counters (USER_HZ). @default 100 */
    ticksPerSecond: z.number().int().positive().default(100),
    /** Node-wide memory (`mem.*`) from this file; null turns it off. @default /proc/meminfo */
    meminfoPath: z.string().nullable().default('/proc/meminfo'),
    /** Directory of the NUMA nodes (`node<N>/meminfo`, `numa.mem.*`); null turns it off. @default /sys/devices/system/node */
    numaDir: z.string().nullable().default('/sys/devices/system/node'),
    /** Per-IRQ, per-CPU counts (`irq.count`) from this file; null turns it off. @default /proc/interrupts */
    interruptsPath: z.string().nullable().default('/proc/interrupts'),
    /**
     * Most `irq.count` samples per interval: only IRQ/CPU pairs whose count changed are reported, the
     * busiest first; the rest are summed per CPU under `irq` = "other". @default 64
     */
    maxIrqSamples: z.number().int().positive().default(64),
    /**
     * Read /proc/interrupts at most this often (ms); `irq.count` is then the count since its previous
     * reading. Generating the file costs the kernel ~50 µs per read on a 2-CPU VM (more with more
     * CPUs and IRQs), more than all other procfs files together, and interrupt counts are rarely
     * wanted at 100 Hz. 0 reads it every interval. @default 1000
     */
    interruptsEveryMs: z.number().int().min(0).default(1000),
    /**
     * Read /proc/meminfo and the NUMA nodes' meminfo at most this often (ms): `mem.*` and
     * `numa.mem.*` are gauges read at the interval they carry, and only intervals that read them
     * carry them. Generating the files is most of the source's kernel time after /proc/stat (about
     * 30 µs per interval on a 2-CPU VM, where the whole default set's budget at 10 Hz is 500 µs), and
     * memory is rarely wanted more than once a second. 0 reads them every interval. @default 1000
     */
    memoryEveryMs: z.number().int().min(0).default(1000),
  })
  .strict();

export type ProcfsConfig = z.output<typeof procfsConfigSchema>;
