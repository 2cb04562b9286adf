/**
 * An experiment's collector stamps eBPF samples keyed by cgroup with the partition and run of the
 * scope that cgroup belongs to, straight in the batch's columns, on the native sampler and on the
 * JS timer alike: a loop that sleeps and wakes in a cgroup of its own is handed over as partition
 * `app`; its context switches (eBPF sched_switch) carry `app` and `r1`, other cgroups' none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { BusMessage, BusProducer } from '../../bus/bus.js';
import { decode } from '../../schema/codec.js';
import { CollectorAgent } from '../agent.js';
import { findCgroup2Root } from '../ebpf/decoders.js';
import { bpfCapability } from '../ebpf/kernel-gate.js';
import { perfCapability, skipForMissingCapability } from '../perf/kernel-gate.js';
import { ACK_SUFFIX, scopeFileName } from '../scopes/scope-file.js';
import { SequenceFile } from '../sequence.js';
import { measuredSources } from './build.js';
import { measureSchema } from './schema.js';

const bpf = bpfCapability();
const perf = perfCapability();

describe('eBPF samples attributed to partitions in the batch', () => {
  for (const native of [true, false]) {
    it(`stamps the partition of a scope's cgroup on its eBPF samples (${native ? 'native sampler' : 'JS timer'})`, async (ctx) => {
      if (!bpf.ok) skipForMissingCapability(ctx.skip, bpf.why);
      if (!perf.ok) skipForMissingCapability(ctx.skip, perf.why);
      const root = findCgroup2Root('/proc/self/mountinfo');
      if (root === null) skipForMissingCapability(ctx.skip, 'no cgroup v2 hierarchy to make a partition cgroup in');
      const name = `isoscope-attributed-${process.pid}-${native ? 'n' : 'j'}`;
      const cgroup = join(root, name);
      const dir = mkdtempSync(join(tmpdir(), 'isoscope-attributed-'));
      const scopesDir = join(dir, 'scopes');
      const sent: BusMessage[] = [];
      const producer: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async (_topic, ms) => void sent.push(...ms) };
      const m = measuredSources(measureSchema.parse({ intervalMs: 100, procfs: false, inventory: false, perf: { events: ['task-clock'], nodeWide: false }, ebpf: { programs: ['sched_switch'] } }), { scopesDir, stateDir: dir });
      const agent = new CollectorAgent({ node: 'attributed', collectorId: 'attributed/test', sources: m.sources, intervalMs: 100, flushEveryMs: 300, nativeSampler: native, producer, sequence: SequenceFile.forCollector(dir, 'attributed/test') });
      let loop: ChildProcess | null = null;
      try {
        mkdirSync(cgroup);
        await agent.start();
        expect(agent.mode).toBe(native ? 'native' : 'js');
        const file = join(scopesDir, scopeFileName('r1', 'app'));
        writeFileSync(`${file}.tmp`, JSON.stringify({ partition: 'app', run: 'r1', cgroups: [cgroup] }));
        renameSync(`${file}.tmp`, file);
        for (let t = 0; !existsSync(file + ACK_SUFFIX); t++) if (t > 500) throw new Error('no scope ack'); else await sleep(10);
        // A loop that switches out often, in the partition's cgroup.
        loop = spawn('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec sh -c 'while :; do sleep 0.01; done'`], { stdio: 'ignore' });
        await sleep(1500);
        expect(agent.mode).toBe(native ? 'native' : 'js');
      } finally {
        loop?.kill('SIGKILL');
        await agent.shutdown();
        for (let t = 0; t < 100 && existsSync(cgroup); t++) {
          try {
            rmdirSync(cgroup);
          } catch {
            await sleep(20); // the killed loop leaves the cgroup a moment later
          }
        }
        rmSync(dir, { recursive: true, force: true });
      }
      const records = sent.flatMap((msg) => decode(msg.value, 'samples').records);
      const ebpf = records.filter((s) => s.source === 'ebpf' && s.metric === 'sched_switches_total');
      const ours = ebpf.filter((s) => s.cgroup === `/${name}`);
      const others = ebpf.filter((s) => s.cgroup !== `/${name}`);
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.filter((s) => s.partition !== 'app' || s.run !== 'r1').map((s) => ({ cgroup: s.cgroup, cpu: s.cpu, partition: s.partition, run: s.run }))).toEqual([]);
      expect(others.length).toBeGreaterThan(0);
      // A tick read before the scope was acked has no partition column at all: its samples decode without the field.
      expect(others.filter((s) => (s.partition ?? null) !== null || (s.run ?? null) !== null).map((s) => ({ cgroup: s.cgroup, cpu: s.cpu, partition: s.partition, run: s.run }))).toEqual([]);
      // The scope's perf counters carry it too (stamped per range, as before).
      expect(records.filter((s) => s.source === 'perf').every((s) => s.partition === 'app')).toBe(true);
    }, 30_000);
  }
});
