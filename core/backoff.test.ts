/** sleep: ends early on abort and leaves no listener on the signal (ingest's signal lives for the process). */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from './backoff.js';

describe('sleep', () => {
  it('removes its abort listener when the time is up, so many sleeps on one signal add none', async () => {
    const abort = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, abort.signal);
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });

  it('ends at once on abort', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });
});
