/**
 * Linux kernel log lines in the two forms a collector meets: dmesg text with `[ seconds.micros]`
 * since boot (CONFIG_PRINTK_TIME) and /dev/kmsg records `level,seq,usec,flags;text`
 * (Documentation/ABI/testing/dev-kmsg). The time since boot is kept so the caller can map it to
 * wall time; the text is offered to the Palacios and Pisces parsers first (their host modules print
 * into this log), then to the few Linux rules below.
 */
import { eachLine, type ParseOptions } from '../event.js';
import { recognizePalacios } from '../palacios/parse.js';
import { recognizePisces } from '../pisces/parse.js';
import { TelemetryState } from '../telemetry.js';
import { applyRules, int, kernelLevel, type Level, type ParsedEvent, type Recognized, RuleSet } from '../types.js';

const DMESG = /^\[ *(\d{1,12})\.(\d{1,9})\] ?/;
const KMSG = /^(\d{1,4}),(\d{1,20}),(\d{1,20}),([^;,]*)(?:,[^;]*)?;/;

const RULES = new RuleSet([
  { re: /^Linux version (\S+)/, match: () => ({ kind: 'boot' }) },
  { re: /^Run (\S+) as init process/, match: (m) => ({ kind: 'init_start', fields: { task: m[1] } }) },
  { re: /^Kernel panic - not syncing: ?/, match: () => ({ kind: 'panic', level: 'critical' }) },
  { re: /^smpboot: CPU (\d+) is now offline/, match: (m) => ({ kind: 'core_offline', fields: { cpu: int(m[1]) } }) },
  {
    re: /^smpboot: Booting Node (\d+) Processor (\d+) APIC (0x[0-9a-fA-F]+)/,
    match: (m) => ({ kind: 'core_online', fields: { node: int(m[1]), cpu: int(m[2]), apic: Number.parseInt(m[3]!, 16) } }),
  },
]);

/** `\xNN` escapes of /dev/kmsg (non-printable bytes) back to characters. */
function unescapeKmsg(text: string): string {
  return text.includes('\\x') ? text.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))) : text;
}

/**
 * Reads a Linux log line. Returns null when the line has neither a dmesg timestamp nor a kmsg
 * header (for source recognition); `sinceBootNs` holds its time since boot.
 */
export function recognizeLinux(line: string, state: TelemetryState): Recognized | null {
  let text: string;
  let sinceBootNs: bigint;
  let level: Level | undefined;
  const c = line.charCodeAt(0);
  let m = c === 91 /* [ */ ? DMESG.exec(line) : null;
  if (m) {
    sinceBootNs = BigInt(m[1]!) * 1_000_000_000n + BigInt(m[2]!.padEnd(9, '0'));
    text = line.slice(m[0].length);
  } else if (c >= 48 && c <= 57 && (m = KMSG.exec(line))) {
    sinceBootNs = BigInt(m[3]!) * 1000n;
    level = kernelLevel(Number(m[1]) & 7);
    text = unescapeKmsg(line.slice(m[0].length));
  } else {
    return null;
  }
  const inner = recognizePalacios(text, state, false) ?? recognizePisces(text);
  if (inner) {
    const lvl = level && inner.level === 'info' ? level : inner.level;
    return { ...inner, level: lvl, sinceBootNs };
  }
  const r = applyRules(RULES, text);
  if (r) {
    return { source: 'linux', kind: r.kind, level: r.level ?? level ?? 'info', message: text, fields: r.fields ?? {}, sinceBootNs };
  }
  const kind = level === 'error' || level === 'critical' ? 'error' : level === 'warning' ? 'warning' : 'unparsed';
  return { source: 'linux', kind, level: level ?? 'info', message: text, fields: {}, sinceBootNs };
}

/**
 * Parses dmesg text or /dev/kmsg records into events, one per line. Times since boot are mapped
 * through `options.bootTimeNs`; without it (or for lines without time) events get `options.ts`.
 */
export function parseLinux(text: string | readonly string[], options: ParseOptions = {}): ParsedEvent[] {
  const state = new TelemetryState();
  return eachLine(text, options, (line) => recognizeLinux(line, state), 'linux');
}
