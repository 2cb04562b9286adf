import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { perfConfigSchema } from './config.js';
import { perfCapability, skipForMissingCapability } from './kernel-gate.js';
import { PerfSource } from './perf.js';

const capability = perfCapability();

/** Runs `perf stat -a -x, -e <event> sleep <s>` and returns its count; fails saying why when perf cannot run. */
function perfStat(event: string, seconds: number, onStart: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('perf', ['stat', '-a', '-x,', '-e', event, 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('spawn', onStart);
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`The reference \`perf stat\` could not be started (${err.code ?? err.message}); install the Debian package linux-perf so \`perf\` is on PATH.`)),
    );
    child.on('exit', (code) => {
      const line = stderr.split('\n').find((l) => l.split(',')[2] === event);
      const count = Number(line?.split(',')[0]);
      if (code !== 0 || !line || !Number.isFinite(count)) reject(new Error(`\`perf stat -a -e ${event}\` exited with ${code} and no count for ${event}; its output:\n${stderr}`));
      else resolve(count);
    });
  });
}

describe('perf source against perf stat', () => {
  it('counts sched:sched_switch on all CPUs within 10 % of `perf stat -a` over the same 3 s window', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const source = new PerfSource(perfConfigSchema.parse({ events: ['sched:sched_switch'] }));
    await source.start();
    try {
      let started!: () => void;
      const spawned = new Promise<void>((r) => (started = r));
      const reference = perfStat('sched:sched_switch', 3, () => started());
      await spawned;
      await source.read(); // the window opens when perf is spawned …
      const theirs = await reference;
      const samples = await source.read(); // … and closes when it has exited
      const ours = samples.reduce((a, s) => a + s.value, 0);
      process.stderr.write(`sched:sched_switch over 3 s: isoscope ${ours}, perf stat ${theirs} (${((ours / theirs - 1) * 100).toFixed(1)} %)\n`);
      expect(samples.every((s) => s.metric === 'sched:sched_switch' && s.cpu! >= 0 && s.scale === 1)).toBe(true);
      expect(theirs).toBeGreaterThan(0);
      expect(Math.abs(ours - theirs) / theirs).toBeLessThan(0.1);
    } finally {
      await source.shutdown();
    }
  });
});
