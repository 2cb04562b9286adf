/** Options of the perf source. Event names are checked here, so a typo fails at start-up. */
import { z } from 'zod';
import { parseEventName } from './events.js';

const eventName = z.string().superRefine((name, ctx) => {
  try {
    parseEventName(name);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const cpus = z.array(z.number().int().nonnegative()).min(1);

/** What the counters count: everything on each CPU, a set of cgroups (on each CPU), or a set of processes. */
export const perfScopeSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('cpu'),
      /** CPUs to count on. @default every online CPU */
      cpus: cpus.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('cgroup'),
      /** Cgroup directories: absolute, or relative to the hierarchy holding perf_event (e.g. `isoscope/p1`). */
      paths: z.array(z.string().min(1)).min(1),
      cpus: cpus.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('pid'),
      /** Processes (thread ids) to count, on whichever CPU they run; children are not followed. */
      pids: z.array(z.number().int().positive()).min(1),
    })
    .strict(),
]);

export const perfConfigSchema = z
  .object({
    /**
     * Events by perf name. @default software counters plus cycles and instructions
     * @example ["task-clock", "context-switches", "sched:sched_switch", "LLC-load-misses", "cpu/event=0x3c,umask=0x00/"]
     */
    events: z
      .array(eventName)
      .min(1)
      .refine((xs) => new Set(xs).size === xs.length, 'perf events must not repeat')
      .default(['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'cycles', 'instructions']),
    /** @default { kind: "cpu" } (system-wide, every online CPU) */
    scope: perfScopeSchema.default({ kind: 'cpu' }),
    /** Where tracefs is; unset: /sys/kernel/tracing, then /sys/kernel/debug/tracing. */
    tracefs: z.string().optional(),
    /** Mount tracefs (at `tracefs` or /sys/kernel/tracing) when it is not mounted and the collector is root. @default true */
    mountTracefs: z.boolean().default(true),
    /** Root of sysfs (online CPUs, PMU formats); tests point it at testdata/. @default /sys */
    sysfs: z.string().default('/sys'),
    /** mountinfo used to find the cgroup hierarchies. @default /proc/self/mountinfo */
    mountinfo: z.string().default('/proc/self/mountinfo'),
  })
  .strict();

export type PerfConfig = z.output<typeof perfConfigSchema>;
export type PerfScope = z.output<typeof perfScopeSchema>;
