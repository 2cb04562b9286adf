/**
 * Pisces host-kernel lines (the pisces module's printks in the Linux log, no prefix of their own):
 * enclaves created, booted and freed, CPUs given and taken, VM commands forwarded to an enclave.
 * They usually arrive inside dmesg or /dev/kmsg, where the Linux parser hands their text here.
 */
import { eachLine, type ParseOptions } from '../event.js';
import type { Kind } from '../kinds.js';
import { applyRules, int, type ParsedEvent, type Recognized, RuleSet } from '../types.js';

/** ENCLAVE_CMD_* numbers of src/ctrl_cmds.h that `Sending VM CMD (N)` forwards, and what they mean. */
const VM_COMMANDS: Record<string, Kind> = { 121: 'vm_free', 122: 'vm_launch', 123: 'vm_stop_request', 124: 'vm_pause', 125: 'vm_continue' };

const RULES = new RuleSet([
  { re: /^Enclave created at \/dev\/pisces-enclave(\d+)/, match: (m) => ({ kind: 'enclave_create', fields: { enclave: int(m[1]) } }) },
  {
    re: /^Launch Pisces Enclave \(cpu=(\d+)\) \(bootmem=(\S+)\)/,
    match: (m) => ({ kind: 'enclave_boot', pcore: int(m[1]), fields: { value: m[2] } }),
  },
  { re: /^Boot Enclave on CPU (\d+) \(APIC=(\d+)\)/, match: (m) => ({ kind: 'enclave_boot', pcore: int(m[1]), fields: { apic: int(m[2]) } }) },
  { re: /^Enclave CPU has initialized/, match: () => ({ kind: 'enclave_boot' }) },
  { re: /^Error: Enclave CPU timed out/, match: () => ({ kind: 'enclave_boot_fail', level: 'error' }) },
  { re: /^Error (?:booting enclave|setting up boot environment)/, match: () => ({ kind: 'enclave_boot_fail', level: 'error' }) },
  { re: /^Adding CPU (\d+) \(APIC (\d+)\)/, match: (m) => ({ kind: 'core_add', pcore: int(m[1]), fields: { apic: int(m[2]) } }) },
  { re: /^Offlining CPU (\d+) \(APIC (\d+)\)/, match: (m) => ({ kind: 'core_remove', pcore: int(m[1]), fields: { apic: int(m[2]) } }) },
  {
    re: /^Sending VM CMD \((\d+)\) to VM \((\d+)\)/,
    match: (m) => ({ kind: VM_COMMANDS[m[1]!] ?? 'unparsed', fields: { vm_id: int(m[2]), value: int(m[1]) } }),
  },
  { re: /^Freeing Enclave$/, match: () => ({ kind: 'enclave_free' }) },
  {
    re: /^Error adding (?:CPU|memory|memory descriptor) to enclave (\d+)/,
    match: (m) => ({ kind: 'error', level: 'error', fields: { enclave: int(m[1]) } }),
  },
]);

/** Reads the text of a Pisces host-kernel line; null when the wording is not Pisces'. */
export function recognizePisces(text: string): Recognized | null {
  const m = applyRules(RULES, text);
  if (!m) return null;
  return { source: 'pisces', kind: m.kind, level: m.level ?? 'info', message: text, fields: m.fields ?? {}, pcore: m.pcore };
}

/** Parses Pisces lines (text without a kernel timestamp) into events, all stamped `options.ts`. */
export function parsePisces(text: string | readonly string[], options: ParseOptions = {}): ParsedEvent[] {
  return eachLine(text, options, recognizePisces, 'pisces');
}
