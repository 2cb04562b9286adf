import { describe, expect, it } from 'vitest';
import { byRaw, fixtureLines, validEvents } from '../testing.js';
import { parsePisces } from './parse.js';

const TS = 1_795_537_485_000_000_000n;
const parse = (name: string) => parsePisces(fixtureLines(import.meta.url, name), { ts: TS });

describe('parsePisces', () => {
  it('reads the enclave lifecycle and CPU moves of a full host log', () => {
    const events = parse('full.log');
    validEvents(events);
    expect(byRaw(events, 'Enclave created')).toMatchObject({ source: 'pisces', kind: 'enclave_create', fields: { enclave: 0 } });
    expect(byRaw(events, 'Launch Pisces Enclave')).toMatchObject({ kind: 'enclave_boot', pcore: 12, fields: { value: '0000000088000000' } });
    expect(byRaw(events, 'Boot Enclave on CPU')).toMatchObject({ kind: 'enclave_boot', pcore: 12, fields: { apic: 24 } });
    expect(byRaw(events, 'has initialized')).toMatchObject({ kind: 'enclave_boot' });
    expect(byRaw(events, 'Adding CPU 13')).toMatchObject({ kind: 'core_add', pcore: 13, fields: { apic: 26 } });
    expect(byRaw(events, 'Offlining CPU 13')).toMatchObject({ kind: 'core_remove', pcore: 13, fields: { apic: 26 } });
    expect(byRaw(events, 'timed out')).toMatchObject({ kind: 'enclave_boot_fail', level: 'error' });
    expect(byRaw(events, 'Freeing Enclave')).toMatchObject({ kind: 'enclave_free' });
    expect(byRaw(events, 'Error adding CPU to enclave 0')).toMatchObject({ kind: 'error', fields: { enclave: 0 } });
  });

  it('maps forwarded VM commands by their ENCLAVE_CMD number, unknown numbers stay unparsed', () => {
    const events = parse('full.log');
    const kinds = events.filter((e) => e.raw?.startsWith('Sending VM CMD')).map((e) => [e.kind, (e.fields as { value: number }).value]);
    expect(kinds).toEqual([['vm_launch', 122], ['vm_pause', 124], ['vm_continue', 125], ['vm_stop_request', 123], ['vm_free', 121], ['unparsed', 150]]);
  });

  it('leaves lines that are not Pisces wording unparsed, with source pisces and the raw line', () => {
    const events = parse('full.log');
    expect(byRaw(events, 'Connecting Ctrl Channel')).toMatchObject({ kind: 'unparsed', source: 'pisces', raw: 'Connecting Ctrl Channel' });
  });

  it('copes with a capture cut mid-line and with invalid lines', () => {
    const partial = parse('partial.log');
    validEvents(partial);
    expect(partial.map((e) => e.kind)).toEqual(['enclave_create', 'enclave_boot', 'unparsed']);
    const lines = fixtureLines(import.meta.url, 'invalid.log');
    const invalid = parse('invalid.log');
    validEvents(invalid);
    expect(invalid.map((e) => e.raw)).toEqual(lines);
    expect(invalid.every((e) => e.kind === 'unparsed')).toBe(true);
  });
});
