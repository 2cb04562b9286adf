/**
 * Hobbes and petlib tool output: petlib log lines (`Error> file.c(LINE): `, `Warning> file.c(LINE): `,
 * `Debug> `; older petlib in lower case), `lnx_init`'s `[init] ` lines, and the `hobbes
 * list_enclaves` table (one `enclave_state` event per row; count, rules and header are `section`).
 * Rows of the other `hobbes` tables (`list_apps`, `list_segments`) have the same shape but no
 * enclave type in their third column and are left `unparsed`.
 */
import { eachLine, type ParseOptions } from '../event.js';
import { int, type ParsedEvent, type Recognized } from '../types.js';

const PETLOG = /^(Error|Warning|Debug|error|warning|debug)> (?:(\S+?)\((\d+)\): ?)?/;
const ROW = /^\| (\d+) +\| (.*?) +\| ([A-Z_]+) +\| (\S+) +\|$/;
const OLD_ROW = /^(\d+): (.*?) +\[([A-Z_]+)\] <(\S+)>$/;
const TYPES = new Set(['INVALID_ENCLAVE', 'MASTER_ENCLAVE', 'PISCES_ENCLAVE', 'VM_ENCLAVE', 'PISCES_VM_ENCLAVE', 'LINUX_VM_ENCLAVE']);

/** Reads a Hobbes/petlib line; null when it has none of their shapes. */
export function recognizeHobbes(line: string): Recognized | null {
  const c = line.charCodeAt(0);
  if (c === 124 /* | */ || (c >= 48 && c <= 57)) {
    const row = ROW.exec(line) ?? OLD_ROW.exec(line);
    if (row && TYPES.has(row[3]!)) {
      const state = row[4]!;
      const level = state === 'Crashed' || state === 'Error' ? 'error' : 'info';
      return hobbes('enclave_state', level, line, { enclave: int(row[1]), name: row[2], type: row[3], state });
    }
    let m: RegExpExecArray | null;
    if ((m = /^(\d+) Active Enclaves:$/.exec(line))) return hobbes('section', 'debug', line, { count: int(m[1]) });
    if (/^\| ID +\| Enclave name +\| Type +\| State +\|$/.test(line)) return hobbes('section', 'debug', line, {});
    return null;
  }
  if (c === 45 /* - */ && /^-{20,}$/.test(line)) return hobbes('section', 'debug', line, {});
  const m = PETLOG.exec(line);
  if (m) {
    const tag = m[1]!.toLowerCase();
    const kind = tag === 'error' ? 'error' : tag === 'warning' ? 'warning' : 'unparsed';
    const level = tag === 'debug' ? 'debug' : kind === 'unparsed' ? 'info' : kind;
    return hobbes(kind, level, line.slice(m[0].length), { file: m[2], line: int(m[3]) });
  }
  if (line.startsWith('[init] ')) return hobbes('unparsed', 'info', line.slice(7), { task: 'init' });
  return null;
}

function hobbes(kind: Recognized['kind'], level: Recognized['level'], message: string, fields: Recognized['fields']): Recognized {
  return { source: 'hobbes', kind, level, message, fields };
}

/** Parses Hobbes tool output into events, one per line, all stamped `options.ts`. */
export function parseHobbes(text: string | readonly string[], options: ParseOptions = {}): ParsedEvent[] {
  return eachLine(text, options, recognizeHobbes, 'hobbes');
}
