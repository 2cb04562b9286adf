/**
 * The keys of cgroups that are gone leave the BPF maps (gone-cgroups.ts), on the real kernel with
 * the native differencing state: a cgroup that ran and was removed keeps its keys through one walk
 * (its last counts read in between) and loses them on the next; the index the state forgot is handed
 * out again only after the reader forgot its labels, so a new cgroup's samples carry its own path,
 * never the removed one's; and the counts of cgroups alive throughout stay exact (the samples add
 * up to the map's values).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { BusMessage, BusProducer } from '../../bus/bus.js';
import { decode } from '../../schema/codec.js';
import { CollectorAgent } from '../agent.js';
import { SequenceFile } from '../sequence.js';
import { skipForMissingCapability } from '../perf/kernel-gate.js';
import type { SourceSample } from '../source.js';
import { loadSampler } from '../sampler/native-sampler.js';
import { ebpfConfigSchema } from './config.js';
import { findCgroup2Root } from './decoders.js';
import { EbpfSource } from './ebpf.js';
import { readMap } from './map-read.js';
import { bpfCapability } from './kernel-gate.js';
import { countCgroups } from './map-sizing.js';
import type { BpfMapInfo, BpfNative, BpfObject } from './native.js';

const capability = bpfCapability();

/**
 * What every case needs, or a skip saying why: the cgroup v2 root to make cgroups in, and the real
 * libbpf adapter noting the objects it opens (so a test can read the maps itself).
 */
async function kernelSetup(ctx: { skip: (note?: string) => never }, o: { sampler: boolean }): Promise<{ root: string; native: BpfNative; opened: BpfObject[] }> {
  if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
  if (o.sampler) {
    const sampler = await loadSampler();
    if (!sampler.ok) skipForMissingCapability(ctx.skip, `no native sampler library: ${sampler.reason}`);
  }
  const root = findCgroup2Root('/proc/self/mountinfo');
  if (root === null) skipForMissingCapability(ctx.skip, 'no cgroup v2 hierarchy to make cgroups in');
  const opened: BpfObject[] = [];
  const native: BpfNative = { ...capability.native, openObject: (path, sizes) => { const obj = capability.native.openObject(path, sizes); opened.push(obj); return obj; } };
  return { root, native, opened };
}

/** A loop that switches out every 10 ms, in the cgroup `dir`. */
function loopIn(dir: string): ChildProcess {
  return spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec sh -c 'while :; do sleep 0.01; done'`], { stdio: 'ignore' });
}

async function stopAndRemove(loop: ChildProcess | null, dir: string): Promise<void> {
  if (loop && loop.exitCode === null && loop.signalCode === null) {
    const exited = new Promise((r) => loop.once('exit', r));
    loop.kill('SIGKILL');
    await exited;
  }
  for (let t = 0; existsSync(dir); t++) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if (t > 250) throw err;
      await sleep(20); // the killed loop leaves the cgroup a moment later
    }
  }
}

describe('BPF map keys of cgroups that are gone', () => {
  it('are deleted after two walks miss them, indices are reused with new labels, and live counts stay exact', async (ctx) => {
    const { root, native, opened } = await kernelSetup(ctx, { sampler: true });
    const ebpf = new EbpfSource(ebpfConfigSchema.parse({ programs: ['sched_switch', 'runqlat'] }), { ok: true, native });
    const dirs = ['a', 'b', 'c'].map((x) => join(root, `isoscope-gone-${process.pid}-${x}`));
    const [a, b, c] = dirs as [string, string, string];
    const loops: (ChildProcess | null)[] = [null, null, null];
    const samples: SourceSample[] = [];
    const readAll = async () => void samples.push(...(await ebpf.read()));
    try {
      await ebpf.start();
      const map = (name: string): BpfMapInfo => opened.flatMap((o) => o.maps).find((m) => m.name === name)!;
      const switches = map('sched_switches_total');
      const runqlat = map('run_queue_latency_seconds');
      /** The map's values of the cgroup's keys, summed (runqlat: its buckets, without the sum key 27). */
      const raw = (m: BpfMapInfo, id: bigint) => readMap(native, m).filter((e) => e.key.readBigUInt64LE(0) === id && (m !== runqlat || e.key.readBigUInt64LE(8) < 27n)).reduce((s, e) => s + Number(e.value), 0);
      const keysOf = (m: BpfMapInfo, id: bigint) => readMap(native, m).filter((e) => e.key.readBigUInt64LE(0) === id).length;
      /** What the samples say of the cgroup: switches counted, run-queue latencies observed (labelled by id until the decoder's next walk finds a new cgroup). */
      const counted = (dir: string, id: bigint) => {
        const labels = [`/${dir.slice(root.length + 1)}`, `unknown_cgroup_id:${id}`];
        const of = samples.filter((s) => labels.includes(s.cgroup ?? ''));
        return {
          switches: of.filter((s) => s.metric === 'sched_switches_total').reduce((x, s) => x + s.value, 0),
          waits: of.filter((s) => s.metric === 'run_queue_latency_seconds' && s.le === '+Inf').reduce((x, s) => x + s.value, 0),
        };
      };
      const exact = (dir: string, id: bigint) => expect(counted(dir, id)).toEqual({ switches: raw(switches, id), waits: raw(runqlat, id) });

      mkdirSync(a);
      mkdirSync(b);
      const [idA, idB] = [a, b].map((d) => statSync(d, { bigint: true }).ino) as [bigint, bigint];
      loops[0] = loopIn(a);
      loops[1] = loopIn(b);
      for (let i = 0; i < 5; i++) await sleep(100).then(readAll);
      await stopAndRemove(loops[0], a);
      await readAll(); // a's last counts
      expect(keysOf(switches, idA)).toBeGreaterThan(0);
      exact(a, idA); // everything a did was read

      const first = ebpf.pruneGoneCgroups()!;
      expect(first.deleted).toBe(0); // missing from one walk only: kept
      expect(first.suspected).toBeGreaterThan(0);
      expect(keysOf(switches, idA)).toBeGreaterThan(0);
      const before = ebpf.nativeKeys;
      await readAll();
      const t0 = process.cpuUsage();
      const second = ebpf.pruneGoneCgroups()!;
      const cost = process.cpuUsage(t0);
      const keysA = { switches: before.sched_switches_total!.live - ebpf.nativeKeys.sched_switches_total!.live, runqlat: before.run_queue_latency_seconds!.live - ebpf.nativeKeys.run_queue_latency_seconds!.live };
      expect(keysOf(switches, idA)).toBe(0);
      expect(keysOf(runqlat, idA)).toBe(0);
      expect(second.deleted).toBeGreaterThanOrEqual(keysA.switches + keysA.runqlat);
      expect(keysA.switches).toBeGreaterThan(0);
      expect(keysA.runqlat).toBeGreaterThan(0);
      expect(keysOf(switches, idB)).toBeGreaterThan(0); // b is alive: untouched

      // The forgotten indices come back once a read after the forget was decoded.
      await sleep(5);
      await readAll();
      const released = ebpf.nativeKeys;
      expect(ebpf.pruneGoneCgroups()!.released).toBeGreaterThan(0);
      const afterA = samples.length;
      mkdirSync(c);
      const idC = statSync(c, { bigint: true }).ino;
      loops[2] = loopIn(c);
      for (let i = 0; i < 5; i++) await sleep(100).then(readAll);
      await stopAndRemove(loops[2], c);
      if (loops[1]) {
        loops[1].kill('SIGKILL');
        await new Promise((r) => loops[1]!.once('exit', r));
      }
      await sleep(100);
      await readAll();
      await readAll();
      // Forgotten indices were handed out again: the table grew by fewer indices than keys were added.
      const now = ebpf.nativeKeys.sched_switches_total!;
      expect(now.indices - released.sched_switches_total!.indices).toBeLessThan(now.live - released.sched_switches_total!.live);
      // …and no sample after that carries the removed cgroup's path (a stale index would).
      const labelA = `/${a.slice(root.length + 1)}`;
      expect(samples.slice(afterA).filter((s) => s.cgroup === labelA)).toEqual([]);
      expect(counted(c, idC).switches).toBeGreaterThan(0);
      exact(c, idC);
      exact(b, idB); // alive through both walks: every count there
      console.log(`keys of the removed cgroup: sched_switch ${keysA.switches}, runqlat ${keysA.runqlat}; second walk deleted ${second.deleted} in ${((cost.user + cost.system) / 1000).toFixed(2)} ms CPU (${countCgroups(root)} cgroups); indices ${JSON.stringify(now)}`);
    } finally {
      for (const [i, dir] of dirs.entries()) await stopAndRemove(loops[i] ?? null, dir).catch(() => undefined);
      await ebpf.shutdown();
    }
  }, 60_000);
  it('are deleted while the native sampler thread reads the maps: no tick decoded with another key\'s labels, counts exact', async (ctx) => {
    const { root, native, opened } = await kernelSetup(ctx, { sampler: true });
    const ebpf = new EbpfSource(ebpfConfigSchema.parse({ programs: ['sched_switch'] }), { ok: true, native });
    const state = mkdtempSync(join(tmpdir(), 'isoscope-gone-'));
    const sent: BusMessage[] = [];
    const producer: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async (_t, ms) => void sent.push(...ms) };
    const agent = new CollectorAgent({ node: 'gone', collectorId: 'gone/test', sources: [ebpf], intervalMs: 20, nativeSampler: true, producer, sequence: SequenceFile.forCollector(state, 'gone/test') });
    const [a, b, c] = ['a', 'b', 'c'].map((x) => join(root, `isoscope-gone-n-${process.pid}-${x}`)) as [string, string, string];
    const loops: (ChildProcess | null)[] = [null, null, null];
    let stopped = false;
    try {
      await agent.start();
      expect(agent.mode).toBe('native');
      const switches = opened.flatMap((o) => o.maps).find((m) => m.name === 'sched_switches_total')!;
      const keysOf = (id: bigint) => readMap(native, switches).filter((e) => e.key.readBigUInt64LE(0) === id);
      mkdirSync(a);
      mkdirSync(b);
      const [idA, idB] = [a, b].map((d) => statSync(d, { bigint: true }).ino) as [bigint, bigint];
      loops[0] = loopIn(a);
      loops[1] = loopIn(b);
      await sleep(500);
      await stopAndRemove(loops[0], a);
      await sleep(300); // a's last counts read by the thread
      expect(ebpf.pruneGoneCgroups()!.deleted).toBe(0);
      await sleep(100);
      const forgotAt = BigInt(Date.now()) * 1_000_000n;
      expect(ebpf.pruneGoneCgroups()!.deleted).toBeGreaterThan(0);
      expect(keysOf(idA)).toEqual([]);
      // a's indices are handed out again once a drain (once a second) decoded a tick read after the forget.
      const released = ebpf.nativeKeys.sched_switches_total!;
      for (let t = 0; ebpf.pruneGoneCgroups()!.released === 0; t++) {
        if (t > 100) throw new Error('the forgotten indices were never released');
        await sleep(100);
      }
      mkdirSync(c);
      const idC = statSync(c, { bigint: true }).ino;
      loops[2] = loopIn(c);
      await sleep(600);
      await stopAndRemove(loops[2], c);
      loops[1].kill('SIGKILL');
      await new Promise((r) => loops[1]!.once('exit', r));
      await sleep(300); // b and c idle: their values hold still
      const now = ebpf.nativeKeys.sched_switches_total!;
      expect(now.indices - released.indices).toBeLessThan(now.live - released.live); // indices were reused
      const raw = (id: bigint) => keysOf(id).reduce((x, e) => x + Number(e.value), 0);
      const [rawB, rawC] = [raw(idB), raw(idC)];
      await agent.shutdown(); // sends the ticks not drained yet
      stopped = true;
      const records = sent.flatMap((m) => decode(m.value, 'samples').records).filter((r) => r.source === 'ebpf');
      const counted = (dir: string, id: bigint) => {
        const labels = [`/${dir.slice(root.length + 1)}`, `unknown_cgroup_id:${id}`];
        return records.filter((r) => labels.includes(r.cgroup ?? '')).reduce((x, r) => x + r.value, 0);
      };
      // a's path only on samples read before its keys were forgotten: a reused index decoded with
      // a's labels would put it on c's switches.
      const labelsA = [`/${a.slice(root.length + 1)}`, `unknown_cgroup_id:${idA}`];
      expect(records.filter((r) => labelsA.includes(r.cgroup ?? '') && BigInt(r.ts as unknown as string) > forgotAt)).toEqual([]);
      expect(counted(c, idC)).toBeGreaterThan(0);
      expect(counted(c, idC)).toBe(rawC);
      expect(counted(b, idB)).toBe(rawB);
    } finally {
      for (const [i, dir] of [a, b, c].entries()) await stopAndRemove(loops[i] ?? null, dir).catch(() => undefined);
      if (!stopped) await agent.shutdown();
      rmSync(state, { recursive: true, force: true });
    }
  }, 60_000);

  it('are deleted from the map on the JS path too (no native state), live counts exact', async (ctx) => {
    const { root, native, opened } = await kernelSetup(ctx, { sampler: false });
    // Without the sampler library the maps are read and differenced in JS (MetricReader).
    const ebpf = new EbpfSource(ebpfConfigSchema.parse({ programs: ['sched_switch'] }), { ok: true, native }, () => Promise.resolve({ ok: false, reason: 'this test reads on the JS path' }));
    const [a, b] = ['a', 'b'].map((x) => join(root, `isoscope-gone-js-${process.pid}-${x}`)) as [string, string];
    const loops: (ChildProcess | null)[] = [null, null];
    const samples: SourceSample[] = [];
    const readAll = async () => void samples.push(...(await ebpf.read()));
    try {
      await ebpf.start();
      expect(ebpf.nativeKeys).toEqual({}); // no native state
      const switches = opened.flatMap((o) => o.maps).find((m) => m.name === 'sched_switches_total')!;
      const keysOf = (id: bigint) => readMap(native, switches).filter((e) => e.key.readBigUInt64LE(0) === id);
      mkdirSync(a);
      mkdirSync(b);
      const [idA, idB] = [a, b].map((d) => statSync(d, { bigint: true }).ino) as [bigint, bigint];
      loops[0] = loopIn(a);
      loops[1] = loopIn(b);
      for (let i = 0; i < 3; i++) await sleep(100).then(readAll);
      await stopAndRemove(loops[0], a);
      await readAll();
      expect(keysOf(idA).length).toBeGreaterThan(0);
      expect(ebpf.pruneGoneCgroups()!.deleted).toBe(0);
      await readAll();
      expect(ebpf.pruneGoneCgroups()!.deleted).toBeGreaterThanOrEqual(1);
      expect(keysOf(idA)).toEqual([]);
      for (let i = 0; i < 3; i++) await sleep(100).then(readAll);
      loops[1].kill('SIGKILL');
      await new Promise((r) => loops[1]!.once('exit', r));
      await sleep(100);
      await readAll();
      const labelB = [`/${b.slice(root.length + 1)}`, `unknown_cgroup_id:${idB}`];
      const counted = samples.filter((s) => s.metric === 'sched_switches_total' && labelB.includes(s.cgroup ?? '')).reduce((x, s) => x + s.value, 0);
      expect(counted).toBeGreaterThan(0);
      expect(counted).toBe(keysOf(idB).reduce((x, e) => x + Number(e.value), 0));
    } finally {
      for (const [i, dir] of [a, b].entries()) await stopAndRemove(loops[i] ?? null, dir).catch(() => undefined);
      await ebpf.shutdown();
    }
  }, 60_000);
});
