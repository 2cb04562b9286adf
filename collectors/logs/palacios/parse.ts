/**
 * Palacios lines in both prefix families: the Hobbes-era fork (`V3> [VM-V.P] `, `V3> (CPU) `, the
 * host glue's `V3-lwk> [task] (cpu): ` / `V3-lnx> [task] (cpu): `) and upstream V3VEE in a Linux
 * host (`palacios (pcore P[ vm NAME[ vcore V]]): `). The prefix gives vm, vcore, pcore and the
 * reporting CPU; error forms add `file.c(LINE): `. The text is then read by the lifecycle rules
 * (rules.ts) and the telemetry state machine (../telemetry.ts).
 */
import type { Fields } from '../fields.js';
import { matchTelemetry, TelemetryState } from '../telemetry.js';
import { eachLine, type ParseOptions } from '../event.js';
import { applyRules, int, type Level, type ParsedEvent, type Recognized, type TextMatch } from '../types.js';
import { HOST_RULES, PREFIXED_RULES } from './rules.js';

/** What a Palacios prefix said. */
interface Prefix {
  text: string;
  key: string;
  vm?: string;
  vcore?: number;
  pcore?: number;
  fields: Fields;
  level?: Level;
}

// VM names may contain `-` and `.`: anchor on the last `-N.N]` inside the brackets.
const CORE = /^V3> \[([^\]]*)-(\d+)\.(\d+)\] ?/;
const CPU = /^V3> \((\d+)\) ?/;
const GLUE = /^V3-(lwk|lnx)> \[([^\]]*)\] \((\d+)\)(?:: ?| (?=\S+\(\d+\): ))/;
const UPSTREAM = /^palacios \(pcore (\d+)(?: vm (.*?)(?: vcore (\d+))?)?\)(?:: ?| (?=\S+\(\d+\): ))/;
const SOURCE_AT = /^(?:-- )?(\S+?\.[ch])\((\d+)\): ?/;
const ERROR_AT = /^ERROR at (\S+?)\((\d+)\): ?/;

/** Takes a Palacios prefix off `line`, or returns null if the line has none. */
function prefix(line: string): Prefix | null {
  const c = line.charCodeAt(0);
  if (c !== 86 /* V */ && c !== 112 /* p */) return null;
  let m: RegExpExecArray | null;
  let p: Prefix | null = null;
  if ((m = CORE.exec(line))) {
    p = { text: line.slice(m[0].length), key: `${m[1]}|${m[2]}`, vm: m[1] || undefined, vcore: int(m[2]), pcore: int(m[3]), fields: {} };
  } else if ((m = CPU.exec(line))) {
    p = { text: line.slice(m[0].length), key: `cpu|${m[1]}`, fields: { cpu: int(m[1]) } };
  } else if ((m = GLUE.exec(line))) {
    p = { text: line.slice(m[0].length), key: `${m[1]}|${m[3]}`, fields: { task: m[2], cpu: int(m[3]) } };
  } else if ((m = UPSTREAM.exec(line))) {
    const key = m[2] !== undefined ? `${m[2]}|${m[3] ?? ''}` : `pcore|${m[1]}`;
    p = { text: line.slice(m[0].length), key, vm: m[2] || undefined, vcore: int(m[3]), pcore: int(m[1]), fields: {} };
  }
  if (!p) return null;
  const at = SOURCE_AT.exec(p.text) ?? ERROR_AT.exec(p.text);
  if (at) {
    p.text = p.text.slice(at[0].length);
    p.fields.file = at[1]!.slice(0, 256);
    p.fields.line = int(at[2]);
    p.level = 'error';
  }
  return p;
}

/**
 * Reads a Palacios line. With `prefixed` false, lines without a Palacios prefix are still read by the
 * rules whose wording is Palacios' own (host modules print some with a bare printk). Returns null
 * when the line is not Palacios'.
 */
export function recognizePalacios(line: string, state: TelemetryState, prefixed = true): Recognized | null {
  const p = prefix(line);
  if (!p) {
    if (prefixed) return null;
    const m = applyRules(HOST_RULES, line);
    return m ? toRecognized(m, { text: line, key: '', fields: {} }) : null;
  }
  const m = matchTelemetry(p.text, p.key, state) ?? applyRules(HOST_RULES, p.text) ?? applyRules(PREFIXED_RULES, p.text);
  if (m) return toRecognized(m, p);
  return toRecognized({ kind: p.level === 'error' ? 'error' : 'unparsed' }, p);
}

function toRecognized(m: TextMatch, p: Prefix): Recognized {
  return {
    source: 'palacios',
    kind: m.kind,
    level: m.level ?? p.level ?? (m.kind === 'section' ? 'debug' : 'info'),
    message: p.text,
    fields: { ...p.fields, ...m.fields },
    vm: m.vm ?? p.vm,
    vcore: m.vcore ?? p.vcore,
    pcore: m.pcore ?? p.pcore,
  };
}

/**
 * Parses Palacios console or kernel-log text (no timestamps of its own) into events, one per line,
 * all stamped `options.ts`; a line without a Palacios prefix is `unparsed`. Pure: telemetry context
 * lives only for this call.
 */
export function parsePalacios(text: string | readonly string[], options: ParseOptions = {}): ParsedEvent[] {
  const state = new TelemetryState();
  return eachLine(text, options, (line) => recognizePalacios(line, state), 'palacios');
}
