/**
 * The one list of collector sources. A source is available to `isoscope collector --source` (and to
 * config `collector.sources`) only if it is named here; nothing registers itself as a side effect of
 * being imported. Sample sources feed the `samples` topic; event sources feed `events`.
 */
import { join } from 'node:path';
import { ebpfConfigSchema } from './ebpf/config.js';
import { EbpfSource } from './ebpf/ebpf.js';
import { InventoryEvents, LogEvents, type EventSource } from './event-source.js';
import { inventoryConfigSchema } from './inventory/config.js';
import { InventorySource } from './inventory/inventory.js';
import { logsConfigSchema } from './logs/config.js';
import { LogStream } from './logs/log-stream.js';
import { perfConfigSchema } from './perf/config.js';
import { PerfSource } from './perf/perf.js';
import { procfsConfigSchema } from './procfs/config.js';
import { ProcfsSource } from './procfs/procfs.js';
import type { Source } from './source.js';

export interface SourceContext {
  /** The collector's state folder (checkpoints). */
  stateDir: string;
}

export type SourceEntry =
  | { kind: 'samples'; create: (options: unknown, ctx: SourceContext) => Source }
  | { kind: 'events'; create: (options: unknown, ctx: SourceContext) => EventSource };

export const SOURCES = {
  procfs: { kind: 'samples', create: (o) => new ProcfsSource(procfsConfigSchema.parse(o ?? {})) },
  perf: { kind: 'samples', create: (o) => new PerfSource(perfConfigSchema.parse(o ?? {})) },
  ebpf: { kind: 'samples', create: (o) => new EbpfSource(ebpfConfigSchema.parse(o ?? {})) },
  inventory: { kind: 'events', create: (o) => new InventoryEvents(new InventorySource(inventoryConfigSchema.parse(o ?? {}))) },
  logs: {
    kind: 'events',
    create: (o, ctx) => {
      const config = logsConfigSchema.parse(o ?? {});
      if (config.inputs.length === 0) throw new Error('the logs source needs at least one input in collector.logs.inputs (file, kmsg or command)');
      const dir = config.stateDir ?? join(ctx.stateDir, 'logs');
      return new LogEvents(config.inputs.map((input) => LogStream.fromConfig(input, dir)));
    },
  },
} as const satisfies Record<string, SourceEntry>;

export type SourceName = keyof typeof SOURCES;
export const SOURCE_NAMES = Object.keys(SOURCES) as SourceName[];
