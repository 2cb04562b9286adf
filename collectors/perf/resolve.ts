/**
 * Turns parsed event names into perf_event_attr fields, looking up what the name alone does not
 * say: tracepoint ids in tracefs, and the type, format and aliases of a named PMU in
 * <sysfs>/bus/event_source/devices/<pmu>/. The sysfs root is a parameter so tests use testdata/.
 */
import { readdir, readFile } from 'node:fs/promises';
import { PERF_TYPE, type AttrFields } from './attr.js';
import type { EventSpec, PmuTerm } from './events.js';
import { encodeTerms, parseAlias, parseTermFormat, type TermFormat } from './pmu-format.js';
import { tracepointId } from './tracefs.js';

export type ResolvedAttr = Omit<AttrFields, 'disabled'>;

export interface ResolveContext {
  /** Root of sysfs. @default /sys */
  sysfs: string;
  /** Returns the tracefs directory; called only when a tracepoint is resolved. */
  tracefs: () => Promise<string>;
}

/**
 * The attr fields of one event.
 * @throws Error with a sentence when a tracepoint or PMU (or its format/alias) does not exist here;
 *   the caller reports it as an unsupported event.
 */
export async function resolveEvent(spec: EventSpec, ctx: ResolveContext): Promise<ResolvedAttr> {
  const mods = 'modifiers' in spec && spec.modifiers ? { excludeUser: !spec.modifiers.user, excludeKernel: !spec.modifiers.kernel, excludeHv: true } : {};
  switch (spec.kind) {
    case 'hardware':
    case 'software':
    case 'cache':
      return { type: spec.type, config: spec.config, ...mods };
    case 'raw':
      return { type: PERF_TYPE.raw, config: spec.config, ...mods };
    case 'tracepoint':
      return { type: PERF_TYPE.tracepoint, config: await tracepointId(await ctx.tracefs(), spec.subsystem, spec.event) };
    case 'pmu': {
      const dir = `${ctx.sysfs}/bus/event_source/devices/${spec.pmu}`;
      const type = await readFile(`${dir}/type`, 'utf8').catch(() => {
        throw new Error(`${spec.name}: this machine has no PMU "${spec.pmu}" (${dir}/type does not exist)`);
      });
      const formats = await readFormats(dir, spec.name);
      const terms = await expandAliases(dir, spec.name, spec.terms);
      let words;
      try {
        words = encodeTerms(spec.pmu, terms, formats);
      } catch (err) {
        throw new Error(`${spec.name}: ${(err as Error).message}`);
      }
      return { type: Number(type.trim()), config: words.config, config1: words.config1, config2: words.config2, ...mods };
    }
  }
}

async function readFormats(dir: string, name: string): Promise<Map<string, TermFormat>> {
  const files = await readdir(`${dir}/format`).catch(() => [] as string[]);
  const out = new Map<string, TermFormat>();
  for (const f of files) {
    try {
      out.set(f, parseTermFormat(await readFile(`${dir}/format/${f}`, 'utf8')));
    } catch (err) {
      throw new Error(`${name}: ${dir}/format/${f}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** A bare term that names an alias in events/ (e.g. `msr/tsc/`) is replaced by the alias's terms. */
async function expandAliases(dir: string, name: string, terms: readonly PmuTerm[]): Promise<PmuTerm[]> {
  const out: PmuTerm[] = [];
  for (const t of terms) {
    if (t.value !== undefined) {
      out.push(t);
      continue;
    }
    const alias = await readFile(`${dir}/events/${t.term}`, 'utf8').catch(() => null);
    if (alias === null) out.push(t);
    else {
      try {
        out.push(...parseAlias(alias));
      } catch (err) {
        throw new Error(`${name}: ${dir}/events/${t.term}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}
