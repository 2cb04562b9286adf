import { describe, expect, it } from 'vitest';
import { chunkByBytes } from './chunk.js';

const msg = (bytes: number) => ({ key: 'k', value: Buffer.alloc(bytes) });

describe('chunkByBytes', () => {
  it('keeps order and puts every message in exactly one chunk under the limit', () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ ...msg(10_000 + i), headers: { i: String(i) } }));
    const chunks = chunkByBytes(messages, 64_000);
    expect(chunks.flat()).toEqual(messages);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.reduce((a, m) => a + m.value.length, 0)).toBeLessThanOrEqual(64_000);
  });

  it('sends a message larger than the limit on its own', () => {
    const chunks = chunkByBytes([msg(10), msg(100_000), msg(10)], 1000);
    expect(chunks.map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('returns nothing for nothing', () => expect(chunkByBytes([], 10)).toEqual([]));
});
