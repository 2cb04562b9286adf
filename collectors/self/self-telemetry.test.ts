/** The collector's own CPU time and wake-ups are samples of every batch (the observer stays observable). */
import { describe, expect, it } from 'vitest';
import { SelfTelemetry } from './self-telemetry.js';

describe('SelfTelemetry', () => {
  it('reports the CPU time and the context switches of this process over the interval', async () => {
    const self = new SelfTelemetry(() => ({ droppedBatches: 2 }));
    await self.start();
    const c0 = process.cpuUsage();
    const giveUp = performance.now() + 5000;
    const used = () => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1e6; };
    while (used() < 0.03 && performance.now() < giveUp); // 30 ms of CPU, however long the machine's load makes it take
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5)); // sleeping: voluntary switches
    const out = await self.read();
    const value = (m: string) => out.find((s) => s.metric === m)?.value;
    expect(value('collector.cpu_seconds')).toBeGreaterThan(0.02);
    expect(value('collector.cpu_seconds')).toBeLessThan(5);
    expect(value('collector.context_switches')).toBeGreaterThanOrEqual(5);
    expect(value('collector.dropped_batches')).toBe(2);
  });
});
