/** Options of the ebpf source: which BPF programs to load, and where their objects and metric configs are. */
import { z } from 'zod';

/** Programs shipped in programs/ (built by build.sh), by their `--ebpf` name. */
export const SHIPPED_PROGRAMS = ['sched_switch', 'runqlat', 'pagefault', 'irq', 'biolatency'] as const;

export const ebpfConfigSchema = z
  .object({
    /**
     * Programs by name: `<objectDir>/<name>.bpf.o` with its metrics in `<configDir>/<name>.yaml`.
     * @default ["sched_switch", "runqlat"]
     * @example ["sched_switch", "runqlat", "pagefault", "irq", "biolatency"]
     */
    programs: z
      .array(z.string().regex(/^[a-zA-Z0-9_-]+$/, 'program names are file names without .bpf.o'))
      .min(1)
      .refine((xs) => new Set(xs).size === xs.length, 'ebpf programs must not repeat')
      .default(['sched_switch', 'runqlat']),
    /** Folder of the compiled objects. @default collectors/ebpf/build of the isoscope package */
    objectDir: z.string().optional(),
    /** Folder of the ebpf_exporter YAML metric configs. @default collectors/ebpf/programs of the package */
    configDir: z.string().optional(),
    /** @default /proc/kallsyms */
    kallsyms: z.string().default('/proc/kallsyms'),
    /** @default /proc/partitions */
    partitions: z.string().default('/proc/partitions'),
    /** Where to find the cgroup v2 mount for the cgroup decoder. @default /proc/self/mountinfo */
    mountinfo: z.string().default('/proc/self/mountinfo'),
  })
  .strict();

export type EbpfConfig = z.output<typeof ebpfConfigSchema>;
