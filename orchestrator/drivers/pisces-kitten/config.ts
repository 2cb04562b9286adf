/** Options of the `pisces-kitten` driver (a partition's `options` in the experiment file). */
import { z } from 'zod';

export const piscesKittenOptionsSchema = z
  .object({
    /**
     * Directory holding the Pisces tools (pisces_load, pisces_launch, pisces_ctrl, pisces_shutdown,
     * pisces_run). Pisces builds them in its `linux_usr/` and installs nothing, so node setup copies
     * them somewhere; tests point this at the fake tools. @default /usr/local/bin
     */
    toolsDir: z.string().min(1).default('/usr/local/bin'),
    /** Kitten kernel image loaded into the enclave. @example /opt/kitten/vmlwk.bin */
    kernel: z.string().min(1),
    /** Kitten init task (initrd). @example /opt/kitten/init_task */
    initrd: z.string().min(1),
    /** Kitten kernel command line. @default "console=pisces" */
    cmdLine: z.string().default('console=pisces'),
    /**
     * Memory hot-plug block size of the node, MiB (/sys/devices/system/memory/block_size_bytes);
     * the partition's memory is rounded up to whole blocks. @default 128
     */
    blockSizeMb: z.number().int().positive().default(128),
    /** Blocks given at boot (`pisces_launch -m`); the rest is added with `pisces_ctrl -m`. @default 1 */
    bootBlocks: z.number().int().positive().default(1),
    /** Where the Pisces module publishes `enclave-<id>/{cpus,memory}`, read to confirm the enclave. @default /proc/pisces */
    procDir: z.string().min(1).default('/proc/pisces'),
    /** Extra environment for every tool (e.g. LD_LIBRARY_PATH for petlib). @default {} */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /** Limit per tool run, ms. @default 60000 */
    toolTimeoutMs: z.number().int().positive().default(60_000),
    /** Job options for `pisces_run` in wrap: ranks (`--np`) and heap size in MiB (`--heap_size`). */
    job: z
      .object({
        ranks: z.number().int().positive().max(255).default(1),
        heapMb: z.number().int().positive().optional(),
      })
      .strict()
      .default({ ranks: 1 }),
  })
  .strict();

export type PiscesKittenOptions = z.output<typeof piscesKittenOptionsSchema>;

/** Validates `spec.options`, naming the partition and the field in the error. */
export function parsePiscesKittenOptions(partition: string, options: unknown): PiscesKittenOptions {
  const r = piscesKittenOptionsSchema.safeParse(options ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`partition ${partition} (pisces-kitten): invalid options: ${issues}`);
  }
  return r.data;
}
