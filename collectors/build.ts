/**
 * Builds the sources a collector was asked for, with their options, and turns a bad option into a
 * message naming the config path (`collector.<source>.<field>`) and what was expected.
 */
import { UserError } from '../core/errors.js';
import type { EventSource } from './event-source.js';
import { SOURCES, SOURCE_NAMES, type SourceContext, type SourceEntry, type SourceName } from './registry.js';
import type { Source } from './source.js';

export interface BuiltSources {
  sources: Source[];
  eventSources: EventSource[];
}

export function buildSources(names: readonly string[], options: Partial<Record<SourceName, unknown>>, ctx: SourceContext): BuiltSources {
  const out: BuiltSources = { sources: [], eventSources: [] };
  for (const name of names) {
    if (!Object.hasOwn(SOURCES, name)) throw new UserError(`invalid source "${name}": expected one of ${SOURCE_NAMES.join(', ')}`);
    const entry: SourceEntry = SOURCES[name as SourceName];
    try {
      if (entry.kind === 'samples') out.sources.push(entry.create(options[name as SourceName], ctx));
      else out.eventSources.push(entry.create(options[name as SourceName], ctx));
    } catch (err) {
      const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
      const reason = issues ? issues.map((i) => `collector.${name}.${i.path.map(String).join('.')}: ${i.message}`).join('; ') : (err as Error).message;
      throw new UserError(`invalid options for the ${name} source: ${reason}`);
    }
  }
  return out;
}
