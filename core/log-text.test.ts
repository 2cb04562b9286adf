import { describe, expect, it } from 'vitest';
import { textLine } from './log-text.js';

describe('textLine: one JSON log record as one line for people', () => {
  const time = new Date(2026, 11, 4, 12, 0, 1, 250).getTime();

  it('shows time, level, component, message and the other fields', () => {
    const json = JSON.stringify({ level: 40, time, pid: 1, component: 'ingest', topic: 'samples', attempt: 3, note: 'two words', msg: 'The bus is away; retrying.' });
    expect(textLine(json)).toBe('12:00:01.250 WARN  ingest: The bus is away; retrying. topic=samples attempt=3 note="two words"');
  });

  it('shows an error by its message, and its stack only when asked', () => {
    const json = JSON.stringify({ level: 50, time, msg: 'Send failed.', err: { type: 'Error', message: 'connect ECONNREFUSED', stack: 'Error: connect ECONNREFUSED\n    at x' } });
    expect(textLine(json)).toBe('12:00:01.250 ERROR Send failed. err="connect ECONNREFUSED"');
    expect(textLine(json, true)).toContain('\nError: connect ECONNREFUSED\n    at x\n');
  });

  it('passes a line that is not JSON through, and shortens long values', () => {
    expect(textLine('not json\n')).toBe('not json');
    const long = textLine(JSON.stringify({ level: 30, time, msg: 'm', list: Array.from({ length: 100 }, (_, i) => i) }));
    expect(long).toMatch(/^12:00:01\.250 INFO  m list=\[0,1,2,.*…$/);
    expect(long.length).toBeLessThan(240);
  });
});
