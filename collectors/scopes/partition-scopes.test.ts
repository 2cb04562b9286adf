import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LinuxCpusetDriver } from '../../orchestrator/drivers/linux-cpuset/linux-cpuset.js';
import type { DriverContext, PartitionState } from '../../orchestrator/drivers/driver.js';
import { partitionCgroup } from '../../orchestrator/drivers/cgroup-path.js';
import { LocalTransport } from '../../orchestrator/transport/local.js';
import { isRoot, perfCapability, skipForMissingCapability } from '../perf/kernel-gate.js';
import { onlineCpus } from '../perf/targets.js';
import type { SourceSample } from '../source.js';
import { PartitionScopes } from './partition-scopes.js';
import { ACK_SUFFIX, scopeAckSchema, scopeFileName, type ScopeFile } from './scope-file.js';

const capability = perfCapability();

async function waitFor<T>(what: string, f: () => T | null | undefined, ms = 5000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
    const v = f();
    if (v) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const clock = (xs: SourceSample[], partition: string) => xs.filter((s) => s.metric === 'task-clock' && s.partition === partition).reduce((a, s) => a + s.value, 0);

describe('partition scopes: perf by cgroup per partition, stamped by the collector', () => {
  it('tells two partitions sharing one CPU apart, and an idle one counts zero', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    if (!isRoot()) skipForMissingCapability(ctx.skip, 'creating cgroups needs root');
    const node = new LocalTransport({ node: `scopes-${process.pid}` });
    const driver = new LinuxCpusetDriver();
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-scopes-'));
    const states: PartitionState[] = [];
    const dctx: DriverContext = { experiment: 'scopes-test', run: 'r1', log: () => {}, siblings: new Map() };
    const children: Promise<unknown>[] = [];
    const ac = new AbortController();
    const scopes = new PartitionScopes({ dir, events: ['task-clock', 'context-switches', 'cycles'], pollMs: 50 });
    try {
      for (const name of ['app', 'noise', 'idle']) states.push(await driver.create(node, { name, driver: 'linux-cpuset', cpus: '0', memMb: 0 }, dctx));
      await scopes.start();
      for (const s of states) {
        const scope: ScopeFile = { partition: s.name, run: 'r1', cgroups: driver.measureScope(s).cgroups };
        const file = join(dir, scopeFileName('r1', s.name));
        writeFileSync(`${file}.tmp`, JSON.stringify(scope));
        renameSync(`${file}.tmp`, file);
        const ack = scopeAckSchema.parse(JSON.parse(await waitFor(`the ack of ${s.name}`, () => (existsSync(file + ACK_SUFFIX) ? readFileSync(file + ACK_SUFFIX, 'utf8') : null))));
        expect(ack.error).toBeNull();
        expect(ack.counting).toEqual(expect.arrayContaining(['task-clock', 'context-switches']));
        if (!ack.counting.includes('cycles')) expect(ack.unsupported.map((u) => u.event)).toContain('cycles'); // no PMU here: said, not hidden
      }
      // Two busy loops in app and noise, both confined to cpu 0; idle runs nothing.
      for (const s of states.slice(0, 2)) children.push(node.exec(driver.wrap(s, ['sh', '-c', 'while :; do :; done']), { signal: ac.signal }).catch(() => undefined));
      await scopes.read(); // baseline
      const t0 = process.hrtime.bigint();
      await sleep(1500);
      const out = await scopes.read();
      const wall = Number(process.hrtime.bigint() - t0);
      const [app, noise, idle] = ['app', 'noise', 'idle'].map((p) => clock(out, p) / wall);
      // Both share cpu 0: each gets a real part of it, together no more than the one CPU.
      expect(app).toBeGreaterThan(0.02); // on a loaded machine (load 40 seen) each still gets a part
      expect(noise).toBeGreaterThan(0.02);
      expect(app! + noise!).toBeLessThan(1.05);
      expect(idle).toBe(0);
      expect(out.every((s) => s.run === 'r1' && ['app', 'noise', 'idle'].includes(s.partition!))).toBe(true);
      expect(new Set(out.filter((s) => s.partition === 'app').map((s) => s.cgroup))).toEqual(new Set([`/${partitionCgroup({ experiment: dctx.experiment, run: dctx.run, node: node.node, partition: 'app' })}`]));

      // Withdrawing a scope: a final read comes with the next batch and the ack goes away.
      const appFile = join(dir, scopeFileName('r1', 'app'));
      rmSync(appFile);
      await waitFor('the app ack to be removed', () => !existsSync(appFile + ACK_SUFFIX));
      expect(scopes.partitions.sort()).toEqual(['idle', 'noise']);
      const last = await scopes.read();
      expect(last.filter((s) => s.partition === 'app' && s.metric === 'task-clock').length).toBe((await onlineCpus('/sys')).length); // its final counts, one per CPU
    } finally {
      ac.abort();
      await Promise.all(children);
      await scopes.shutdown();
      for (const s of states.reverse()) await driver.destroy(node, s, dctx);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
