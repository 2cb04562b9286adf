/**
 * A program load under a steady stream of signals (a CPU profiler's SIGPROF every 100 µs): the
 * verifier gives up with EAGAIN while a signal is pending, and libbpf's five retries were not
 * enough (9 loads in 10 failed under `node --cpu-prof`). native.ts holds this thread's signals
 * during the load; this checks that loads succeed and that the signal mask is restored.
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipForMissingCapability } from '../perf/kernel-gate.js';
import { bpfCapability } from './kernel-gate.js';
import { defaultObjectDir } from './locate.js';

const capability = bpfCapability();

/** This thread's blocked-signal mask, as /proc shows it. */
const blockedSignals = (): string => /SigBlk:\s*(\S+)/.exec(readFileSync('/proc/thread-self/status', 'utf8'))![1]!;

function post(session: Session, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
}

describe('eBPF program loads while signals keep arriving', () => {
  it('loads runqlat every time under a 100 µs CPU profiler and restores the signal mask', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const session = new Session();
    session.connect();
    const maskBefore = blockedSignals();
    const failures: string[] = [];
    try {
      await post(session, 'Profiler.enable');
      await post(session, 'Profiler.setSamplingInterval', { interval: 100 });
      await post(session, 'Profiler.start');
      for (let i = 0; i < 10; i++) {
        try {
          capability.native.openObject(join(defaultObjectDir(), 'runqlat.bpf.o')).close();
        } catch (e) {
          failures.push((e as Error).message.slice(0, 160));
        }
      }
      await post(session, 'Profiler.stop');
    } finally {
      session.disconnect();
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(blockedSignals()).toBe(maskBefore);
  });
});
