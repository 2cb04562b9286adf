/**
 * The shapes shared by the log parsers: what a line parser recognises in a line (`Recognized`, no
 * timestamp yet) and the records the log pipeline hands to the collector agent (`ParsedEvent`,
 * `ParsedSample`), which stamps the batch identity (node, collector, seq, idx) on them.
 */
import type { RecordInput } from '../../schema/records.js';
import type { LEVELS } from '../../schema/records/events.js';
import type { Fields } from './fields.js';
import type { Kind } from './kinds.js';

/** An `events` record as a log parser produces it: everything but the batch identity. */
export type ParsedEvent = Omit<RecordInput<'events'>, 'node' | 'collector' | 'seq' | 'idx'>;

/** A `samples` record derived from a log line (Palacios telemetry), without the batch identity. */
export type ParsedSample = Omit<RecordInput<'samples'>, 'node' | 'collector' | 'seq' | 'idx'>;

/** Severity of an event. */
export type Level = (typeof LEVELS)[number];

/** The log sources the parsers know. */
export const LOG_SOURCES = ['kitten', 'palacios', 'pisces', 'hobbes', 'linux'] as const;
export type LogSource = (typeof LOG_SOURCES)[number];

/** `events.source` of a line that no source recognised in `auto` mode. */
export const UNKNOWN_SOURCE = 'unknown';

/** What a parser recognised in one line, before a timestamp is put on it. */
export interface Recognized {
  source: LogSource;
  kind: Kind;
  level: Level;
  /** The line's text without the prefixes the parser understood. */
  message: string;
  fields: Fields;
  vm?: string;
  vcore?: number;
  pcore?: number;
  /** Nanoseconds since the boot of the kernel that printed the line, when the line carries that. */
  sinceBootNs?: bigint;
}

/** A text rule's verdict: the kind and what it read from the text. */
export interface TextMatch {
  kind: Kind;
  level?: Level;
  fields?: Fields;
  vm?: string;
  vcore?: number;
  pcore?: number;
}

/** A rule for the text of a line (after the prefixes were taken off). */
export interface TextRule {
  re: RegExp;
  match: (m: RegExpExecArray) => TextMatch;
}

/**
 * Rules indexed by the literal first character of their pattern, so a line is only tried against
 * the rules that can match it (most lines match none). Rules whose pattern does not start with a
 * plain literal are tried for every line. Order among the candidates is the order given.
 */
export class RuleSet {
  private readonly byChar = new Map<number, TextRule[]>();
  private readonly always: TextRule[] = [];

  constructor(rules: readonly TextRule[]) {
    const first = rules.map((r) => {
      const src = r.re.source.replace(/^\^\\/, '^');
      return !r.re.ignoreCase && /^\^[A-Za-z0-9 >|[\]\-:=]/.test(src) ? src.charCodeAt(1) : -1;
    });
    const chars = new Set(first.filter((c) => c >= 0));
    for (const c of chars) this.byChar.set(c, rules.filter((_, i) => first[i] === c || first[i] === -1));
    this.always = rules.filter((_, i) => first[i] === -1);
  }

  /** The first rule that matches `text`, applied; null when none does. */
  match(text: string): TextMatch | null {
    const rules = this.byChar.get(text.charCodeAt(0)) ?? this.always;
    for (const rule of rules) {
      const m = rule.re.exec(text);
      if (m) return rule.match(m);
    }
    return null;
  }
}

/** Applies the first rule of `rules` that matches `text`, or returns null. */
export function applyRules(rules: RuleSet, text: string): TextMatch | null {
  return rules.match(text);
}

/** Kernel printk level 0–7 (KERN_EMERG … KERN_DEBUG) as an event level. */
export function kernelLevel(n: number): Level {
  if (n <= 2) return 'critical';
  if (n === 3) return 'error';
  if (n === 4) return 'warning';
  if (n === 5) return 'notice';
  if (n === 6) return 'info';
  return n === 7 ? 'debug' : 'info';
}

/**
 * Decimal digits to a number; undefined when absent or not a safe integer (a fuzzed line may carry
 * 40 digits where a CPU number belongs).
 */
export function int(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Digits that may exceed 2^53 (TSC readings, counters): a number when exact, else the digit string. */
export function big(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** A hex address difference `end - start` in bytes, when both are hex and the result is exact. */
export function hexSpan(start: string, end: string): number | undefined {
  try {
    const d = BigInt(end) - BigInt(start);
    return d >= 0n && d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : undefined;
  } catch {
    return undefined;
  }
}
