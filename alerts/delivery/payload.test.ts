/** The webhook body's small parts: timestamps, fingerprints, series links; store timestamps back to ns. */
import { describe, expect, it } from 'vitest';
import { isoToNs } from '../store-rows.js';
import { fingerprint, isoNs } from './payload.js';
import { sign, verify } from './sign.js';

describe('webhook body parts', () => {
  it('writes and reads nanosecond timestamps', () => {
    expect(isoNs(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(isoToNs('2023-11-14T22:13:20.123456789Z')).toBe(1_700_000_000_123_456_789n);
    expect(isoToNs('2023-11-14T22:13:20.123456Z')).toBe(1_700_000_000_123_456_000n);
    expect(isoToNs('2023-11-14T22:13:20Z')).toBe(1_700_000_000_000_000_000n);
    expect(() => isoToNs('yesterday')).toThrow(/expected an ISO-8601 timestamp from the store, got "yesterday"/);
  });

  it('fingerprints label sets independently of their order', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }));
  });

  it('signs with HMAC-SHA256 as documented', () => {
    // echo -n '{"x":1}' | openssl dgst -sha256 -hmac 'k'
    expect(sign('k', '{"x":1}')).toBe('sha256=ffdba40b72b00267026e803abc2089b803398d12d19407110dcf93c3177a9bc1');
    expect(verify('k', '{"x":1}', sign('k', '{"x":1}'))).toBe(true);
    expect(verify('k', '{"x":2}', sign('k', '{"x":1}'))).toBe(false);
    expect(verify('k', '{"x":1}', undefined)).toBe(false);
  });
});
