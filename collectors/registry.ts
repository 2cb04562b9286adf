/**
 * The one list of collector sources. A source is available to `isoscope collector --source` only if
 * it is named here; nothing registers itself as a side effect of being imported.
 */
import { perfConfigSchema } from './perf/config.js';
import { PerfSource } from './perf/perf.js';
import { procfsConfigSchema } from './procfs/config.js';
import { ProcfsSource } from './procfs/procfs.js';
import type { Source } from './source.js';

export const SOURCES = {
  procfs: (options: unknown = {}): Source => new ProcfsSource(procfsConfigSchema.parse(options ?? {})),
  perf: (options: unknown = {}): Source => new PerfSource(perfConfigSchema.parse(options ?? {})),
} as const;

export type SourceName = keyof typeof SOURCES;
export const SOURCE_NAMES = Object.keys(SOURCES) as SourceName[];
