/**
 * eBPF maps sized to what the node needs (map-sizing.ts) and full maps made visible
 * (dropped-keys.ts, maps.bpf.h): the sizes the shipped programs' metric maps get from the CPU count
 * and the cgroups, loaded into the real kernel; a map made deliberately too small counts the keys
 * it could not add, and self telemetry carries the count.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { skipForMissingCapability } from '../perf/kernel-gate.js';
import { SelfTelemetry } from '../self/self-telemetry.js';
import { ebpfConfigSchema } from './config.js';
import { findCgroup2Root } from './decoders.js';
import { DroppedKeys } from './dropped-keys.js';
import { EbpfSource } from './ebpf.js';
import { readMap } from './map-read.js';
import { bpfCapability } from './kernel-gate.js';
import { defaultConfigDir, defaultObjectDir } from './locate.js';
import { cgroupSlots, countCgroups, metricEntries } from './map-sizing.js';
import { parseMetricsConfig } from './metrics-config.js';

const capability = bpfCapability();

/** The shipped program's metric config. */
function metrics(program: string) {
  const path = join(defaultConfigDir(), `${program}.yaml`);
  const m = parseMetricsConfig(readFileSync(path, 'utf8'), path).metrics;
  return [...m.counters.map((config) => ({ kind: 'counter' as const, config })), ...m.histograms.map((config) => ({ kind: 'histogram' as const, config }))];
}

describe('eBPF map sizes from the node', () => {
  it('gives a map keyed by cgroup and CPU cgroup slots × CPUs, a histogram its buckets and sum, and leaves unknown labels as compiled', () => {
    const needs = { cpus: 128, cgroups: 300 };
    expect(cgroupSlots(20)).toBe(512);
    expect(cgroupSlots(300)).toBe(1200);
    expect(metricEntries(metrics('sched_switch')[0]!, needs)).toBe(1200 * 128); // was 16,384: full at 129 cgroups on 128 CPUs
    expect(metricEntries(metrics('runqlat')[0]!, needs)).toBe(1200 * 28); // buckets 0..26 and the sum key
    expect(metricEntries(metrics('pagefault')[0]!, { cpus: 2, cgroups: 20 })).toBe(512);
    expect(metrics('irq').map((m) => metricEntries(m, needs))).toEqual([null, null]); // irq names: unknown
    expect(metricEntries(metrics('biolatency')[0]!, needs)).toBeNull(); // devices: unknown
  });

  it('loads the default programs with their maps sized for this node, and no key dropped', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const ebpf = new EbpfSource(ebpfConfigSchema.parse({ programs: ['sched_switch', 'runqlat'] }));
    await ebpf.start();
    try {
      const cpus = capability.native.possibleCpus();
      const slots = cgroupSlots(countCgroups(findCgroup2Root('/proc/self/mountinfo')));
      expect(ebpf.mapEntries).toEqual({ sched_switches_total: slots * cpus, run_queue_latency_seconds: slots * 28 });
      await sleep(300);
      expect((await ebpf.read()).length).toBeGreaterThan(0);
      const dropped = ebpf.droppedKeys()!;
      expect(dropped.full).toBe(0); // far from full (a failed update, EBUSY or ENOMEM, is counted apart)
      console.log(`keys dropped in 300 ms: ${JSON.stringify(dropped)}`);
      console.log(`map entries on ${cpus} CPUs, ${slots} cgroup slots: ${JSON.stringify(ebpf.mapEntries)}`);
    } finally {
      await ebpf.shutdown();
    }
    expect(ebpf.droppedKeys()).toBeUndefined(); // nothing loaded: nothing to report
  });

  it('counts the keys a full map could not add, and self telemetry reports them', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const native = capability.native;
    // One entry where every (cgroup, CPU) that switches needs its own: the idle tasks of two CPUs alone make two.
    const obj = native.openObject(join(defaultObjectDir(), 'sched_switch.bpf.o'), (m) => (m.name === 'sched_switches_total' ? 1 : undefined));
    try {
      const map = obj.maps.find((m) => m.name === 'sched_switches_total')!;
      expect(map.maxEntries).toBe(1);
      const dropped = new DroppedKeys(native);
      dropped.add('sched_switch', obj);
      let n = 0;
      for (let t = 0; t < 50 && n === 0; t++) {
        await Promise.all([sleep(50), new Promise<void>((r) => setImmediate(r))]);
        n = dropped.read(t * 1000).full; // past the once-a-second cache each time
      }
      expect(readMap(native, map).length).toBe(1);
      expect(n).toBeGreaterThan(0);
      const self = new SelfTelemetry(() => ({ droppedBatches: 0, ebpfDroppedKeys: dropped.read() }));
      await self.start();
      const samples = await self.read();
      expect(samples.find((s) => s.metric === 'collector.ebpf_dropped_keys')?.value).toBeGreaterThanOrEqual(n);
      expect(samples.find((s) => s.metric === 'collector.ebpf_failed_keys')?.value).toBeGreaterThanOrEqual(0);
      console.log(`a 1-entry sched_switch map dropped ${n} keys`);
    } finally {
      obj.close();
    }
  });
});
