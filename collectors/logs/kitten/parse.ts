/**
 * Kitten console lines (kernel/printk.c, include/lwk/print.h): an optional `[N]:` CPU prefix, an
 * optional literal `<N>` level (`<8>` user output as `(task) text`, `<c>` continuation), then the
 * text. Boot, CPU hot-plug, the init task's enclave control (`lwk_inittask`) and faults are read
 * here; Palacios lines printed through Kitten (`V3> …`, `V3-lwk> …`, the Kitten module's bare
 * printks) go to the Palacios parser. Kitten prints no time: the caller stamps the lines.
 */
import { eachLine, type ParseOptions } from '../event.js';
import { recognizePalacios } from '../palacios/parse.js';
import { TelemetryState } from '../telemetry.js';
import { applyRules, hexSpan, int, kernelLevel, type Level, type ParsedEvent, type Recognized, RuleSet } from '../types.js';

const ENVELOPE = /^(?:\[(\d+)\]:)?(?:<([0-9c])>)?/;
const USER = /^\(([^)]*)\) ?/;
const TASK = /^\[([^\]]+)\] /;
const PETLOG = /^(Error|Warning|error|warning)> (\S+?)\((\d+)\): ?/;

const RULES = new RuleSet([
  { re: /^LWK version (\S+)/, match: () => ({ kind: 'boot' }) },
  { re: /^Number of CPUs detected: (\d+)/, match: (m) => ({ kind: 'boot', fields: { cores: int(m[1]) } }) },
  { re: /^Loading initial user-level task \(([^)]+)\)/, match: (m) => ({ kind: 'init_start', fields: { task: m[1] } }) },
  {
    re: /^Setting up pisces instance on CPU (\d+) \(APIC ID (\d+)\)/,
    match: (m) => ({ kind: 'enclave_boot', pcore: int(m[1]), fields: { apic: int(m[2]) } }),
  },
  {
    re: /^Booting Physical CPU #(\d+) -> Logical CPU #(\d+) APIC #(\d+)/,
    match: (m) => ({ kind: 'core_add', pcore: int(m[1]), fields: { cpu: int(m[2]), apic: int(m[3]) } }),
  },
  { re: /^Logical CPU (\d+) is now online/, match: (m) => ({ kind: 'core_online', fields: { cpu: int(m[1]) } }) },
  {
    re: /^Logical CPU (\d+) \(phys_id (\d+), apic_id (\d+)\) is now offline/,
    match: (m) => ({ kind: 'core_offline', pcore: int(m[2]), fields: { cpu: int(m[1]), apic: int(m[3]) } }),
  },
  {
    re: /^Adding CPU phys_id (\d+), apic_id (\d+)/,
    match: (m) => ({ kind: 'core_add', pcore: int(m[1]), fields: { apic: int(m[2]) } }),
  },
  {
    re: /^Removing CPU phys_id (\d+), apic_id (\d+)/,
    match: (m) => ({ kind: 'core_remove', pcore: int(m[1]), fields: { apic: int(m[2]) } }),
  },
  {
    re: /^Adding pmem \((0x[0-9a-fA-F]+) - (0x[0-9a-fA-F]+)\)/,
    match: (m) => ({ kind: 'mem_add', fields: { bytes: hexSpan(m[1]!, m[2]!) } }),
  },
  { re: /^Created VM \((\d+)\)$/, match: (m) => ({ kind: 'vm_create', fields: { vm_id: int(m[1]) } }) },
  { re: /^Adding V3 PCI Device/, match: () => ({ kind: 'pci_attach' }) },
  { re: /^Kernel panic(?: - not syncing)?: ?/, match: () => ({ kind: 'panic', level: 'critical' }) },
  {
    re: /^>> PAGE FAULT! Sent signal (\d+)[.:] (?:CR2|Addr) is (\S+?),?(?: cpu (\d+))?$/,
    match: (m) => ({ kind: 'page_fault', level: 'error', fields: { value: m[2], cpu: int(m[3]) } }),
  },
  {
    re: /^SYS_MMAP: ENOMEM \(len=(\d+)/,
    match: (m) => ({ kind: 'mmap_enomem', level: 'error', fields: { bytes: int(m[1]) } }),
  },
  {
    re: /^System call not implemented!(?: \(syscall_number=(\d+)\))?/,
    match: (m) => ({ kind: 'syscall_unimplemented', level: 'warning', fields: { syscall: int(m[1]) } }),
  },
]);

/**
 * Reads a Kitten console line. With `strict`, a line with no Kitten envelope and no Kitten wording
 * returns null (for source recognition); otherwise it is Kitten's `unparsed`.
 */
export function recognizeKitten(line: string, state: TelemetryState, strict = false): Recognized | null {
  const env = ENVELOPE.exec(line)!;
  const cpu = int(env[1]);
  const levelMark = env[2];
  let text = line.slice(env[0].length);
  let level: Level = levelMark && levelMark !== 'c' && levelMark < '8' ? kernelLevel(Number(levelMark)) : 'info';
  let task: string | undefined;
  if (levelMark === '8') {
    const u = USER.exec(text);
    if (u) {
      task = u[1];
      text = text.slice(u[0].length);
    }
  }
  const base = { cpu, task };
  const palacios = recognizePalacios(text, state, true);
  if (palacios) return withBase(palacios, base, levelMark && levelMark < '8' ? level : undefined);

  const t = TASK.exec(text);
  const inner = t && /^(?:SYS_MMAP|System call)/.test(text.slice(t[0].length)) ? text.slice(t[0].length) : text;
  if (t && inner !== text) base.task = t[1];
  const fields: Record<string, string | number | undefined> = { cpu, task: base.task };
  const pet = PETLOG.exec(inner);
  if (pet) {
    const kind = pet[1]!.toLowerCase() === 'error' ? 'error' : 'warning';
    return { source: 'kitten', kind, level: kind, message: inner.slice(pet[0].length), fields: { ...fields, file: pet[2], line: int(pet[3]) } };
  }
  const m = applyRules(RULES, inner);
  if (m) return { source: 'kitten', kind: m.kind, level: m.level ?? level, message: inner, fields: { ...fields, ...m.fields }, vcore: m.vcore, pcore: m.pcore };
  const host = recognizePalacios(inner, state, false);
  if (host) return withBase(host, base, undefined);
  if (strict && env[0] === '') return null;
  if (levelMark === '8') return { source: 'kitten', kind: 'app_output', level, message: inner, fields };
  level = levelMark === undefined ? 'info' : level;
  return { source: 'kitten', kind: 'unparsed', level, message: inner, fields };
}

function withBase(r: Recognized, base: { cpu?: number; task?: string }, level: Level | undefined): Recognized {
  const fields = { ...r.fields };
  if (fields.cpu === undefined && base.cpu !== undefined) fields.cpu = base.cpu;
  if (fields.task === undefined && base.task !== undefined) fields.task = base.task;
  return { ...r, fields, level: level && r.level === 'info' ? level : r.level };
}

/** Parses a Kitten console capture into events, one per line, all stamped `options.ts`. */
export function parseKitten(text: string | readonly string[], options: ParseOptions = {}): ParsedEvent[] {
  const state = new TelemetryState();
  return eachLine(text, options, (line) => recognizeKitten(line, state), 'kitten');
}
