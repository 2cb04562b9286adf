/**
 * The `measure:` section of an experiment: what the collector on every node the experiment uses
 * counts while it runs. Left out, it is a set useful for interference (see {@link DEFAULT_MEASURE}):
 * per partition (perf counting by cgroup) task-clock, context switches, migrations, page faults,
 * cycles, instructions, cache and LLC misses (where the PMU allows) and the scheduler tracepoints;
 * node-wide the same per CPU, /proc, and run-queue latency and context switches per cgroup from eBPF.
 * The same object is handed to `isoscope collector --measure JSON`, so the collector on a node and
 * the experiment file agree on one shape.
 * @example
 * measure:
 *   intervalMs: 250
 *   perf: { events: [task-clock, context-switches, LLC-load-misses, "sched:sched_switch"] }
 *   ebpf: { programs: [runqlat] }
 *   procfs: true
 */
import { z } from 'zod';
import { perfConfigSchema } from '../perf/config.js';
import { logsConfigSchema } from '../logs/config.js';

/** Perf events counted when `measure.perf.events` is left out; events the node cannot count are reported once and skipped. */
export const DEFAULT_PERF_EVENTS = [
  'task-clock',
  'context-switches',
  'cpu-migrations',
  'page-faults',
  'cycles',
  'instructions',
  'cache-references',
  'cache-misses',
  'LLC-load-misses',
  'sched:sched_switch',
  'sched:sched_wakeup',
  'sched:sched_migrate_task',
] as const;

/** eBPF programs loaded when `measure.ebpf.programs` is left out: run-queue latency and context switches per cgroup. */
export const DEFAULT_EBPF_PROGRAMS = ['runqlat', 'sched_switch'] as const;

const perfEvents = perfConfigSchema.shape.events.unwrap();

export const measurePerfSchema = z.strictObject({
  /** perf event names (hardware, software, cache, tracepoints `subsystem:name`, raw `cpu/event=…/`). */
  events: perfEvents.default([...DEFAULT_PERF_EVENTS]),
  /** Count every partition on its own (perf by cgroup). @default true */
  partitions: z.boolean().default(true),
  /** Count the whole node per CPU as well. @default true */
  nodeWide: z.boolean().default(true),
});

export const measureEbpfSchema = z.strictObject({
  /** Programs shipped in collectors/ebpf/programs (runqlat, sched_switch, pagefault, irq, biolatency). */
  programs: z.array(z.string().regex(/^[a-zA-Z0-9_-]+$/, 'program names are file names without .bpf.o')).default([...DEFAULT_EBPF_PROGRAMS]),
});

export const measureSchema = z.strictObject({
  /** false: no collector is started for the experiment (samples come from elsewhere, or none). @default true */
  enabled: z.boolean().default(true),
  /** Sampling interval, ms. @default 500 */
  intervalMs: z.number().int().min(10).max(60_000).default(500),
  /** perf_event_open counters; `false` turns perf off. */
  perf: z.union([z.literal(false), measurePerfSchema]).default({ events: [...DEFAULT_PERF_EVENTS], partitions: true, nodeWide: true }),
  /** eBPF programs (need root and a BTF kernel; skipped with a warning where they cannot load); `false` turns eBPF off. */
  ebpf: z.union([z.literal(false), measureEbpfSchema]).default({ programs: [...DEFAULT_EBPF_PROGRAMS] }),
  /** Node-wide /proc readings (CPU times, memory, interrupts). @default true */
  procfs: z.boolean().default(true),
  /** The node inventory event (CPUs, memory, devices) at start. @default true */
  inventory: z.boolean().default(true),
  /** Log streams to follow on every node (files, /dev/kmsg, console commands), as collector.logs.inputs. */
  logs: logsConfigSchema.shape.inputs.optional(),
});

export type Measure = z.output<typeof measureSchema>;

/** The measure section when an experiment leaves it out. */
export const DEFAULT_MEASURE: Measure = measureSchema.parse({});
