import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HOSTILE } from './hostile-values.js';
import { checkEnvNames, quoteArg, quoteArgv } from './quote.js';


describe('quoteArg', () => {
  it('leaves plain words alone and single-quotes everything else', () => {
    expect(quoteArg('hpcc')).toBe('hpcc');
    expect(quoteArg('/usr/bin/x-1.2')).toBe('/usr/bin/x-1.2');
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('')).toBe("''");
  });

  it('round-trips hostile values through a real POSIX shell unchanged', () => {
    const line = quoteArgv(['printf', '%s\\0', ...HOSTILE]);
    const out = execFileSync('/bin/sh', ['-c', line]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('refuses NUL bytes and empty argv, and checks env names', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => quoteArgv([])).toThrow(/empty argv/);
    expect(() => checkEnvNames({ 'A;B': 'x' })).toThrow(/"A;B" is invalid/);
    expect(() => checkEnvNames({ OMP_NUM_THREADS: '1' })).not.toThrow();
  });
});
