/**
 * An experiment's collector on the native sampler: a partition scope that appears and disappears
 * while the agent runs is counted by the sampler thread (the agent stops it, sends its ticks, opens
 * or closes the scope's fds, and starts it again), with the same task-clock as the JS timer's agent
 * counting the same cgroup beside it, partition and run on every sample, seq without gaps, and the
 * inventory event source read on the event loop beside the sampled ticks.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { BusMessage, BusProducer } from '../../bus/bus.js';
import { partitionCgroup } from '../../orchestrator/drivers/cgroup-path.js';
import type { DriverContext, PartitionState } from '../../orchestrator/drivers/driver.js';
import { LinuxCpusetDriver } from '../../orchestrator/drivers/linux-cpuset/linux-cpuset.js';
import { LocalTransport } from '../../orchestrator/transport/local.js';
import { decode } from '../../schema/codec.js';
import { CollectorAgent } from '../agent.js';
import { InventoryEvents } from '../event-source.js';
import { inventoryConfigSchema } from '../inventory/config.js';
import { InventorySource } from '../inventory/inventory.js';
import { isRoot, perfCapability, skipForMissingCapability } from '../perf/kernel-gate.js';
import { loadSampler } from '../sampler/native-sampler.js';
import { SequenceFile } from '../sequence.js';
import { PartitionScopes } from './partition-scopes.js';
import { ACK_SUFFIX, scopeFileName, type ScopeFile } from './scope-file.js';

const capability = perfCapability();

async function waitFor(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (f()) return;
  throw new Error(`timed out waiting for ${what}`);
}

describe('partition scopes on the native sampler', () => {
  it('counts a scope that appears and goes mid-run on the sampler thread, as the JS timer counts it', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    if (!isRoot()) skipForMissingCapability(ctx.skip, 'creating cgroups needs root');
    const loaded = await loadSampler();
    if (!loaded.ok) skipForMissingCapability(ctx.skip, `the native sampler cannot be used here: ${loaded.reason}`);
    const node = new LocalTransport({ node: `scopes-native-${process.pid}` });
    const driver = new LinuxCpusetDriver();
    const dctx: DriverContext = { experiment: 'scopes-native-test', run: 'r1', log: () => {}, siblings: new Map() };
    const root = mkdtempSync(join(tmpdir(), 'isoscope-scopes-native-'));
    const ac = new AbortController();
    let state: PartitionState | null = null;
    let loop: Promise<unknown> | null = null;
    const agents = ['native', 'js'].map((kind) => {
      const dir = join(root, kind);
      const sent: (BusMessage & { topic: string })[] = [];
      const producer: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async (topic, ms) => void sent.push(...ms.map((m) => ({ ...m, topic }))) };
      const scopes = new PartitionScopes({ dir: join(dir, 'scopes'), events: ['task-clock', 'context-switches'], pollMs: 50 });
      const agent = new CollectorAgent({
        node: 'scopes-native', collectorId: `scopes-native/${kind}`, sources: [scopes],
        eventSources: [new InventoryEvents(new InventorySource(inventoryConfigSchema.parse({ probes: false })))],
        intervalMs: 20, flushEveryMs: 200, nativeSampler: kind === 'native', producer,
        sequence: SequenceFile.forCollector(dir, `scopes-native/${kind}`), eventSequence: SequenceFile.forCollector(dir, `scopes-native/${kind}`, 'events'),
      });
      return { kind, dir: join(dir, 'scopes'), sent, agent };
    });
    try {
      state = await driver.create(node, { name: 'app', driver: 'linux-cpuset', cpus: '0', memMb: 0 }, dctx);
      for (const a of agents) await a.agent.start();
      expect(agents[0]!.agent.mode).toBe('native'); // the inventory event source no longer keeps it on the JS timer
      expect(agents[1]!.agent.mode).toBe('js');
      await sleep(300);
      // The scope appears while both run; a busy loop runs in it only between both acks and its removal.
      const scope: ScopeFile = { partition: 'app', run: 'r1', cgroups: driver.measureScope(state).cgroups };
      for (const a of agents) {
        const file = join(a.dir, scopeFileName('r1', 'app'));
        writeFileSync(`${file}.tmp`, JSON.stringify(scope));
        renameSync(`${file}.tmp`, file);
      }
      for (const a of agents) await waitFor(`the ${a.kind} agent's ack`, () => existsSync(join(a.dir, scopeFileName('r1', 'app') + ACK_SUFFIX)));
      loop = node.exec(driver.wrap(state, ['sh', '-c', 'while :; do :; done']), { signal: ac.signal }).catch(() => undefined);
      await sleep(1500);
      ac.abort();
      await loop;
      await sleep(200);
      for (const a of agents) rmSync(join(a.dir, scopeFileName('r1', 'app')));
      for (const a of agents) await waitFor(`the ${a.kind} agent to drop the scope`, () => !existsSync(join(a.dir, scopeFileName('r1', 'app') + ACK_SUFFIX)));
      await sleep(300); // the removed scope's final counts go out with the next tick
      expect(agents[0]!.agent.mode).toBe('native'); // still on the sampler after both changes
      expect(agents[0]!.agent.jsTimerReason).toBeNull();
    } finally {
      ac.abort();
      await loop;
      for (const a of agents) await a.agent.shutdown();
      if (state) await driver.destroy(node, state, dctx);
    }
    const label = `/${partitionCgroup({ experiment: dctx.experiment, run: dctx.run, node: node.node, partition: 'app' })}`;
    const totals: number[] = [];
    for (const a of agents) {
      const samples = a.sent.filter((m) => m.topic === 'samples');
      samples.forEach((m, i) => expect(Number(m.headers?.seq)).toBe(i)); // seq without gaps across the restarts
      const records = samples.flatMap((m) => {
        const d = decode(m.value, 'samples');
        expect(d.errors).toEqual([]);
        return d.records;
      });
      const app = records.filter((s) => s.partition === 'app');
      expect(app.length).toBeGreaterThan(0);
      expect(app.every((s) => s.run === 'r1' && s.cgroup === label && s.source === 'perf')).toBe(true);
      expect(records.every((s) => s.partition === 'app')).toBe(true); // the only source is the scopes
      const clock = app.filter((s) => s.metric === 'task-clock');
      totals.push(clock.reduce((sum, s) => sum + s.value * (s.scale ?? 1), 0));
      if (a.kind === 'native') {
        // Many ticks of 20 ms carry the partition, each batch its own ts (read by the thread).
        const ticks = new Set(clock.map((s) => String(s.ts)));
        expect(ticks.size).toBeGreaterThan(20);
      }
      // The inventory went out as an events batch beside the samples.
      const events = a.sent.filter((m) => m.topic === 'events').flatMap((m) => decode(m.value, 'events').records);
      expect(events.some((e) => e.kind === 'node_inventory')).toBe(true);
    }
    // Both counted the whole life of the loop: the same task-clock (ns) within 5 %.
    const [native, js] = totals as [number, number];
    console.log(`partition task-clock: native sampler ${(native / 1e6).toFixed(1)} ms, JS timer ${(js / 1e6).toFixed(1)} ms (${(native / js).toFixed(4)}×)`);
    expect(js).toBeGreaterThan(20e6); // the loop got at least 20 ms of CPU 0, even on a loaded machine
    expect(Math.abs(native / js - 1)).toBeLessThan(0.05);
    rmSync(root, { recursive: true, force: true });
  }, 60_000);
});
