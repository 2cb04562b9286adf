/**
 * Palacios telemetry dumps. Most dump lines carry a `telem.N>` or `telem.N (core:C)>` header and are
 * read on their own, but the Hobbes-era fork also prints structure without that header (separators,
 * `Exit information for Core N`, `Exit Count=N`) and an `Event Counters` block of `\tNAME: N`
 * lines. `TelemetryState` follows each dump per printing context (VM and vcore, or CPU) so that those
 * lines are parsed as part of their block and carry its dump number; one read without its block is
 * still a counter, without a dump number. `telemetrySamples` turns the numeric lines into `samples`.
 */
import { big, int, type ParsedEvent, type ParsedSample, type TextMatch } from './types.js';

interface DumpContext {
  /** Dump number (`telem.N`) of the dump being printed, if its header was seen. */
  seq?: number;
  /** Vcore named by `Exit information for Core N`. */
  vcore?: number;
  /** Inside an `Event Counters` block. */
  counters: boolean;
  /** Inside a dump (between its first line and `FINISHED …` / `Telemetry done`). */
  open: boolean;
}

/** Per-stream memory of the dumps being printed, keyed by printing context. */
export class TelemetryState {
  private readonly contexts = new Map<string, DumpContext>();

  /** The context for a key, created on first use. At most 4096 contexts are kept. */
  context(key: string): DumpContext {
    let c = this.contexts.get(key);
    if (!c) {
      if (this.contexts.size >= 4096) this.contexts.clear();
      c = { counters: false, open: false };
      this.contexts.set(key, c);
    }
    return c;
  }
}

const HEADER = /^telem\.(\d+)(?: \(core:(\d+)\))?>/;
const RULE = /^={10,}$/;

/**
 * Reads one line of Palacios text (prefix already removed) as telemetry, updating the dump context
 * of `key`. Returns null when the line is not telemetry.
 */
export function matchTelemetry(text: string, key: string, state: TelemetryState): TextMatch | null {
  const h = HEADER.exec(text);
  if (h) return headerLine(text.slice(h[0].length), int(h[1]), int(h[2]), state.context(key));
  if (text.length === 0 || !(text.charCodeAt(0) === 9 || /^[=EFN]/.test(text))) return null;
  const c = state.context(key);
  if (RULE.test(text)) return c.open ? section(c) : null;
  let m = /^Exit information for Core (\d+)$/.exec(text);
  if (m) {
    c.open = true;
    c.counters = false;
    c.vcore = int(m[1]);
    return section(c);
  }
  if ((m = /^Exit Count=(\d+)$/.exec(text))) return section(c, { count: big(m[1]!) });
  if (text === 'No information yet for this core') return section(c);
  if (text === 'Event Counters') {
    c.open = true;
    c.counters = true;
    return section(c);
  }
  if ((m = /^FINISHED Exit information for Core (\d+)$/.exec(text))) {
    c.counters = false;
    return section(c);
  }
  if ((m = /^\t(.+): (\d+)$/.exec(text))) {
    // Inside its block the counter gets the dump's number and vcore. Read on its own (a dump cut by a
    // restart, a tail that starts mid-block) it is still a counter: vmm_telemetry.c prints nothing
    // else as `\tNAME: N`; the vcore then comes from the line's prefix and the dump number is unknown.
    if (c.counters) return { kind: 'event_counter', vcore: c.vcore, fields: { seq: c.seq, counter: m[1], value: big(m[2]!) } };
    return { kind: 'event_counter', fields: { counter: m[1], value: big(m[2]!) } };
  }
  return null;
}

function headerLine(body: string, seq: number | undefined, core: number | undefined, c: DumpContext): TextMatch {
  let m = /^telemetry (?:window tsc cnt: (\d+)|tsc=(\d+) \(window size: (\d+)\))/.exec(body);
  if (m) {
    Object.assign(c, { seq, vcore: core, open: true, counters: false });
    const window = m[1] ?? m[3]!;
    return { kind: 'telemetry_window', vcore: core, fields: { seq, window_cycles: big(window), value: m[2] } };
  }
  c.seq = seq;
  if ((m = /^Time Breakdown: Host=(\d+), Guest=(\d+)/.exec(body))) {
    return { kind: 'telemetry_time_split', vcore: core, fields: { seq, host_cycles: big(m[1]!), guest_cycles: big(m[2]!) } };
  }
  if ((m = /^([A-Za-z0-9_]+):\s+Cnt=(\d+),\s+Avg\. Time=(\d+)/.exec(body))) {
    return { kind: 'exit_stats', vcore: core, fields: { seq, exit: m[1], count: big(m[2]!), avg_cycles: big(m[3]!) } };
  }
  if ((m = /^(GUEST|HOST):(\d+):(\d+):(\S+) = (\d+)/.exec(body))) {
    const counter = `${m[1]!.toLowerCase()}:${m[4]}`;
    return { kind: 'pmu_counter', vcore: int(m[2]), pcore: int(m[3]), fields: { seq, counter, value: big(m[5]!) } };
  }
  if ((m = /^ ?Guest Page faults: (\d+)/.exec(body))) {
    return { kind: 'event_counter', vcore: core, fields: { seq, counter: 'Guest Page faults', value: big(m[1]!) } };
  }
  if (/^ ?Telemetry done/.test(body)) {
    c.open = false;
    c.counters = false;
    return { kind: 'telemetry_end', vcore: core, fields: { seq } };
  }
  return { kind: 'section', level: 'debug', vcore: core, fields: { seq } };
}

function section(c: DumpContext, fields: Record<string, number | string | undefined> = {}): TextMatch {
  return { kind: 'section', level: 'debug', vcore: c.vcore, fields: { seq: c.seq, ...fields } };
}

const PER_KIND: Record<string, [field: string, metric: string][]> = {
  exit_stats: [['count', 'palacios.exit_count'], ['avg_cycles', 'palacios.exit_avg_cycles']],
  event_counter: [['value', 'palacios.event_count']],
  telemetry_window: [['window_cycles', 'palacios.window_cycles']],
  telemetry_time_split: [['host_cycles', 'palacios.host_cycles'], ['guest_cycles', 'palacios.guest_cycles']],
  section: [['count', 'palacios.exit_total']],
};

/**
 * The samples a telemetry event stands for. Labels: `cpu` = pcore (the host CPU the vcore ran on,
 * -1 if unknown), `comm` = `<vm>-<vcore>` (the name Palacios gives the vcore's host thread),
 * `device` = the exit reason or counter name. Values are as printed: cumulative counts since the
 * VM started (Palacios does not reset them per dump), cycles in TSC ticks.
 */
export function telemetrySamples(e: ParsedEvent): ParsedSample[] {
  const f = e.fields as Record<string, unknown> | undefined;
  if (e.source !== 'palacios' || !f) return [];
  const specs = e.kind === 'pmu_counter' ? [['value', `palacios.pmu_${String(f.counter).split(':')[0]}`] as [string, string]] : PER_KIND[e.kind];
  if (!specs) return [];
  const out: ParsedSample[] = [];
  const comm = e.vm && e.vcore !== undefined && e.vcore !== null ? `${e.vm}-${e.vcore}` : undefined;
  const device = typeof f.exit === 'string' ? f.exit : typeof f.counter === 'string' ? f.counter.replace(/^(guest|host):/, '') : undefined;
  for (const [field, metric] of specs) {
    const v = f[field];
    const value = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
    if (value === undefined) continue;
    out.push({
      ts: e.ts, source: 'palacios', metric, value, cpu: e.pcore ?? -1, scale: 1,
      ...(comm ? { comm: comm.slice(0, 256) } : {}),
      ...(device ? { device: device.slice(0, 256) } : {}),
    });
  }
  return out;
}
