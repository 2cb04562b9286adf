/**
 * Log lines for people: pino writes JSON lines, and on a terminal this stream turns each into one short
 * line, `12:00:01.250 WARN  ingest: The bus is away; retrying. topic=samples attempt=3`. Services and
 * anything not on a terminal keep JSON (log.format: json), which log shippers read.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

/** One JSON log line as one human line (without the newline). */
export function textLine(json: string, withStacks = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toTimeString().slice(0, 8) + '.' + String(o.time % 1000).padStart(3, '0') : '';
  const level = LEVELS[o.level as number] ?? String(o.level);
  const component = typeof o.component === 'string' ? `${o.component}: ` : '';
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${fieldText(v, withStacks)}`);
  return [`${time} ${level} ${component}${String(o.msg ?? '')}`, ...fields].join(' ');
}

function fieldText(v: unknown, withStacks: boolean): string {
  if (v && typeof v === 'object' && 'message' in v && 'type' in v) {
    // pino's serialized error: its message, and its stack only when asked for
    const e = v as { message: string; stack?: string };
    return withStacks && e.stack ? `\n${e.stack}\n` : JSON.stringify(e.message);
  }
  const s = typeof v === 'string' ? (/[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v) : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

/** A pino destination writing human lines to `fd` (synchronously, so nothing is lost at exit). */
export function textDestination(write: (line: string) => void, withStacks = false): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) write(textLine(line, withStacks) + '\n');
    },
  };
}
