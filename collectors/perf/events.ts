/**
 * Event names as perf(1) spells them, parsed into what perf_event_open needs. Pure: the name
 * alone decides the kind; looking up tracepoint ids and PMU formats in sysfs is resolve.ts's job.
 *   cycles, task-clock, cs …            generic hardware / software counters
 *   LLC-load-misses, dTLB-loads …       hardware cache events
 *   sched:sched_switch                  tracepoint (subsystem:name)
 *   r1a8                                raw PMU config (hex)
 *   cpu/event=0x3c,umask=0x00/, msr/tsc/  PMU event by format terms or sysfs alias
 * Named, raw and PMU events take perf's privilege modifiers: `cycles:u`, `r1a8:k`, `cpu/…/u`.
 */
import { PERF_TYPE } from './attr.js';

/** Privilege levels counted; absent means all. */
export interface Modifiers {
  user: boolean;
  kernel: boolean;
}

export type EventSpec =
  | { kind: 'hardware' | 'software' | 'cache'; name: string; type: number; config: bigint; modifiers?: Modifiers }
  | { kind: 'tracepoint'; name: string; subsystem: string; event: string }
  | { kind: 'raw'; name: string; config: bigint; modifiers?: Modifiers }
  | { kind: 'pmu'; name: string; pmu: string; terms: PmuTerm[]; modifiers?: Modifiers };

/** One `term=value` of a PMU event; a bare term (`edge`) means 1, a bare name may be a sysfs alias. */
export interface PmuTerm {
  term: string;
  value?: bigint;
}

/** Canonical name → PERF_COUNT_HW_* id; aliases map to the canonical name. */
export const HARDWARE_EVENTS: Record<string, number> = {
  cycles: 0, instructions: 1, 'cache-references': 2, 'cache-misses': 3, 'branch-instructions': 4, 'branch-misses': 5,
  'bus-cycles': 6, 'stalled-cycles-frontend': 7, 'stalled-cycles-backend': 8, 'ref-cycles': 9,
};
/** Canonical name → PERF_COUNT_SW_* id. */
export const SOFTWARE_EVENTS: Record<string, number> = {
  'cpu-clock': 0, 'task-clock': 1, 'page-faults': 2, 'context-switches': 3, 'cpu-migrations': 4, 'minor-faults': 5,
  'major-faults': 6, 'alignment-faults': 7, 'emulation-faults': 8, 'cgroup-switches': 11,
};
const ALIASES: Record<string, string> = {
  'cpu-cycles': 'cycles', branches: 'branch-instructions', 'idle-cycles-frontend': 'stalled-cycles-frontend',
  'idle-cycles-backend': 'stalled-cycles-backend', cs: 'context-switches', migrations: 'cpu-migrations', faults: 'page-faults',
};

/** Cache name → PERF_COUNT_HW_CACHE_* id, as perf names them. */
const CACHES: Record<string, number> = { 'L1-dcache': 0, 'L1-icache': 1, LLC: 2, dTLB: 3, iTLB: 4, branch: 5, node: 6 };
const CACHE_OPS: Record<string, number> = { load: 0, loads: 0, store: 1, stores: 1, prefetch: 2, prefetches: 2 };

/**
 * Parses one event name.
 * @throws Error saying what forms are accepted when the name fits none.
 * @example parseEventName('LLC-load-misses') // { kind: 'cache', type: 3, config: 0x10002n, … }
 */
export function parseEventName(input: string): EventSpec {
  const name = input.trim();
  const pmu = /^([A-Za-z0-9_.-]+)\/([^/]*)\/([uk]*)$/.exec(name);
  if (pmu) return { kind: 'pmu', name, pmu: pmu[1]!, terms: parseTerms(name, pmu[2]!), ...mods(pmu[3]!) };
  const [base, modText] = splitModifiers(name);
  const canonical = ALIASES[base] ?? base;
  if (canonical in HARDWARE_EVENTS) return { kind: 'hardware', name: canonical + suffix(modText), type: PERF_TYPE.hardware, config: BigInt(HARDWARE_EVENTS[canonical]!), ...mods(modText) };
  if (canonical in SOFTWARE_EVENTS) return { kind: 'software', name: canonical + suffix(modText), type: PERF_TYPE.software, config: BigInt(SOFTWARE_EVENTS[canonical]!), ...mods(modText) };
  const cache = /^(L1-dcache|L1-icache|LLC|dTLB|iTLB|branch|node)-(loads|stores|prefetches|load-misses|store-misses|prefetch-misses)$/.exec(base);
  if (cache) {
    const [op, result] = cache[2]!.split('-') as [string, string | undefined];
    const config = BigInt(CACHES[cache[1]!]!) | (BigInt(CACHE_OPS[op]!) << 8n) | ((result === 'misses' ? 1n : 0n) << 16n);
    return { kind: 'cache', name, type: PERF_TYPE.hwCache, config, ...mods(modText) };
  }
  const raw = /^r([0-9a-fA-F]{1,16})$/.exec(base);
  if (raw) return { kind: 'raw', name, config: BigInt(`0x${raw[1]}`), ...mods(modText) };
  const tp = /^([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(name);
  if (tp) return { kind: 'tracepoint', name, subsystem: tp[1]!, event: tp[2]! };
  throw new Error(
    `perf event "${input}" is not an event name this collector knows: expected a hardware or software event (cycles, task-clock …), ` +
      'a cache event (LLC-load-misses …), a tracepoint "subsystem:name", a raw event "r<hex>" or a PMU event "pmu/term=value,…/"',
  );
}

/** `cycles:u` → ['cycles', 'u']; tracepoints (`sched:sched_switch`) are not split. */
function splitModifiers(name: string): [string, string] {
  const m = /^([^:]+):([uk]+)$/.exec(name);
  return m ? [m[1]!, m[2]!] : [name, ''];
}

const suffix = (modText: string) => (modText === '' ? '' : `:${modText}`);

function mods(modText: string): { modifiers?: Modifiers } {
  if (modText === '') return {};
  return { modifiers: { user: modText.includes('u'), kernel: modText.includes('k') } };
}

function parseTerms(name: string, text: string): PmuTerm[] {
  if (text.trim() === '') throw new Error(`perf event "${name}": the PMU event has no terms between the slashes; expected e.g. cpu/event=0x3c,umask=0x00/`);
  return text.split(',').map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(?:=\s*(0x[0-9a-fA-F]+|\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`perf event "${name}": "${part}" is not a term; expected name=value with a decimal or 0x hex value`);
    return m[2] === undefined ? { term: m[1]! } : { term: m[1]!, value: BigInt(m[2]) };
  });
}
