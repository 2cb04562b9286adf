import { describe, expect, it } from 'vitest';
import { byRaw, fixtureLines, validEvents } from '../testing.js';
import { parseHobbes } from './parse.js';

const TS = 1_795_537_485_000_000_000n;
const parse = (name: string) => parseHobbes(fixtureLines(import.meta.url, name), { ts: TS });

describe('parseHobbes', () => {
  const events = parse('full.log');

  it('turns each list_enclaves row into enclave_state, in the table and the older one-line form', () => {
    validEvents(events);
    const states = events.filter((e) => e.kind === 'enclave_state').map((e) => e.fields);
    expect(states).toEqual([
      { enclave: 0, name: 'master', type: 'MASTER_ENCLAVE', state: 'Running' },
      { enclave: 1, name: 'kitten-0', type: 'PISCES_ENCLAVE', state: 'Running' },
      { enclave: 2, name: 'vm-on-kitten-0', type: 'VM_ENCLAVE', state: 'Crashed' },
      { enclave: 1, name: 'kitten-1', type: 'PISCES_ENCLAVE', state: 'Initialized' },
    ]);
    expect(byRaw(events, 'Crashed')).toMatchObject({ level: 'error' });
  });

  it('marks the table count, rules and header as section', () => {
    expect(events.slice(0, 4).map((e) => e.kind)).toEqual(['section', 'section', 'section', 'section']);
    expect(events[0]).toMatchObject({ fields: { count: 2 }, level: 'debug' });
  });

  it('reads petlib Error>/Warning>/Debug> lines with file and line, in both cases', () => {
    expect(byRaw(events, 'Error> pisces.c')).toMatchObject({ kind: 'error', level: 'error', message: 'Could not launch enclave (kitten-0)', fields: { file: 'pisces.c', line: 412 } });
    expect(byRaw(events, 'Warning>')).toMatchObject({ kind: 'warning', level: 'warning', fields: { file: 'hobbes_db.c', line: 77 } });
    expect(byRaw(events, 'error> xemem.c')).toMatchObject({ kind: 'error', fields: { file: 'xemem.c', line: 59 } });
    expect(byRaw(events, 'Debug>')).toMatchObject({ kind: 'unparsed', level: 'debug', message: 'Creating Pisces Enclave' });
    expect(byRaw(events, '[init]')).toMatchObject({ source: 'hobbes', fields: { task: 'init' } });
  });

  it('does not take rows of other hobbes tables for enclaves', () => {
    expect(byRaw(events, '| stream')).toMatchObject({ kind: 'unparsed' });
  });

  it('copes with a cut table and invalid rows', () => {
    const partial = parse('partial.log');
    validEvents(partial);
    expect(partial.map((e) => e.kind)).toEqual(['enclave_state', 'section', 'unparsed']);
    const invalid = parse('invalid.log');
    validEvents(invalid);
    expect(invalid.map((e) => e.raw)).toEqual(fixtureLines(import.meta.url, 'invalid.log'));
    expect(byRaw(invalid, '| x ')).toMatchObject({ kind: 'unparsed' });
    expect(byRaw(invalid, 'NOT_A_TYPE')).toMatchObject({ kind: 'unparsed' });
  });
});
