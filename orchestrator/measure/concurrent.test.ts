/**
 * Two experiments at once on one machine with the same node name (`local`) and partition name
 * (`app`), each with its own orchestrator and in-process collector: both runs end, each partition is
 * counted in its own cgroup (a directory per run) and handed over in its own scopes directory, and
 * nothing of either is left behind. Before, the second `mkdir isoscope/local-app` failed with
 * "File exists", and the second collector's start cleared the first one's scopes.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../bus/embedded/embedded-bus.js';
import { decode } from '../../schema/codec.js';
import { uniqueName } from '../../test/services.js';
import { loadCatalog } from '../catalog/load.js';
import { partitionCgroup } from '../drivers/cgroup-path.js';
import { detectHierarchy } from '../drivers/linux-cpuset/hierarchy.js';
import { loadExperiment } from '../experiment/load.js';
import { Runner } from '../runner.js';
import { LocalTransport } from '../transport/local.js';
import { defaultScopesDir } from './measurement.js';

const CATALOG = join(import.meta.dirname, '..', 'testdata', 'catalog');

describe.skipIf(process.getuid?.() !== 0)('two experiments at once with the same node and partition names (needs root)', () => {
  it('both run, each partition counted in its own cgroup, both cleaned up', async () => {
    const { mount } = await detectHierarchy(new LocalTransport({ node: 'local' }));
    const one = async (experiment: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'isoscope-concurrent-'));
      const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
      await bus.start();
      await bus.ensureTopics(['runs', 'partitions', 'events', 'samples']);
      const producer = bus.producer();
      await producer.start();
      writeFileSync(join(dir, 'e.yaml'), `
experiment: ${experiment}
nodes: [{ name: local, transport: local }]
stacks: [{ name: linux, partitions: [{ name: app, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: sysbench, partition: app, parameters: { test: cpu, seconds: 4 } }
matrix: { nodeCounts: [1], background: [false], repetitions: 1, timeoutSeconds: 120 }
measure: { intervalMs: 200, perf: { events: [task-clock, context-switches] }, ebpf: false, procfs: false, inventory: false }
`);
      // Both hold their cgroup at the same time: each records the path while its workload runs.
      let held: string | null = null;
      const span = { running: 0, ended: 0 };
      const runner = new Runner({
        experiment: loadExperiment(join(dir, 'e.yaml')), catalog: loadCatalog([CATALOG]), producer, stateDir: join(dir, 'state'),
        measure: { bus, stateDir: join(dir, 'data') },
        onProgress: (p) => {
          if (p.type === 'step' && p.message.startsWith('running sysbench')) {
            held = `${mount}/${partitionCgroup({ experiment, run: p.run, node: 'local', partition: 'app' })}`;
            span.running = Date.now();
          }
          if (p.type === 'end') span.ended = Date.now();
        },
      });
      return { dir, bus, producer, runner, experiment, held: () => held, span };
    };
    const a = await one(uniqueName('twin-a'));
    const b = await one(uniqueName('twin-b'));
    try {
      const [[sa], [sb]] = await Promise.all([a.runner.execute(), b.runner.execute()]);
      expect(sa, sa?.message ?? '').toMatchObject({ phase: 'end' });
      expect(sb, sb?.message ?? '').toMatchObject({ phase: 'end' });
      expect(a.held()).not.toBe(b.held());
      // The two workloads really ran at the same time (each ends after its 4 s workload and teardown).
      expect(Math.max(a.span.running, b.span.running)).toBeLessThan(Math.min(a.span.ended, b.span.ended));
      expect(defaultScopesDir(a.experiment, join(a.dir, 'data'), 'local')).not.toBe(defaultScopesDir(b.experiment, join(b.dir, 'data'), 'local'));
      for (const [x, s] of [[a, sa!], [b, sb!]] as const) {
        // The partition's own counters, stamped by that experiment's collector with its run and cgroup.
        const consumer = x.bus.consumer({ group: uniqueName('check'), topics: ['samples'] });
        const seen: { partition?: string | null; run?: string | null; cgroup?: string | null; metric: string; value: number }[] = [];
        await consumer.run(async (batch) => { for (const m of batch.messages) seen.push(...decode(m.value, 'samples').records); });
        for (let i = 0; i < 50 && !seen.some((r) => r.partition === 'app'); i++) await new Promise((r) => setTimeout(r, 100));
        await consumer.shutdown();
        const own = seen.filter((r) => r.partition === 'app' && r.metric === 'task-clock');
        expect(own.length, `${x.experiment}: task-clock samples of app`).toBeGreaterThan(0);
        expect(new Set(own.map((r) => r.run))).toEqual(new Set([s.run]));
        expect(new Set(own.map((r) => r.cgroup))).toEqual(new Set([`/${partitionCgroup({ experiment: x.experiment, run: s.run, node: 'local', partition: 'app' })}`]));
        expect(own.reduce((t, r) => t + r.value, 0)).toBeGreaterThan(0);
        // Nothing left: the cgroup and the run's directory.
        expect(x.held()).not.toBeNull();
        expect(existsSync(x.held()!)).toBe(false);
        expect(existsSync(dirname(x.held()!))).toBe(false);
      }
    } finally {
      for (const x of [a, b]) {
        await x.producer.shutdown();
        await x.bus.shutdown();
        rmSync(x.dir, { recursive: true, force: true });
      }
    }
  }, 240_000);
});
