/**
 * A collector over SSH when the orchestrator's bus is the embedded one: it posts its batches to the
 * orchestrator's own HTTP bus endpoint (token through a 0600 file on the node), its samples reach the
 * bus (the run's arrival check passes) and the partition is counted on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../bus/embedded/embedded-bus.js';
import { decode } from '../../schema/codec.js';
import { uniqueName } from '../../test/services.js';
import { sshNodeYaml, startSshd, type TestSshd } from '../../test/sshd.js';
import { loadCatalog } from '../catalog/load.js';
import { loadExperiment } from '../experiment/load.js';
import { Runner } from '../runner.js';
import { partitionCgroup } from '../drivers/cgroup-path.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'isoscope.js');
const CATALOG = join(import.meta.dirname, '..', 'testdata', 'catalog');

describe.skipIf(process.getuid?.() !== 0)('collector over SSH posting to the orchestrator (embedded bus; needs root)', () => {
  let sshd: TestSshd;
  beforeAll(async () => void (sshd = await startSshd()));
  afterAll(() => sshd?.stop());

  it('runs with the collector on the node sending through the orchestrator\'s HTTP bus endpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-http-sink-'));
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    await bus.ensureTopics(['runs', 'partitions', 'events', 'samples']);
    const producer = bus.producer();
    await producer.start();
    const node = uniqueName('h');
    const part = uniqueName('p');
    const experiment = uniqueName('http-sink');
    try {
      writeFileSync(join(dir, 'e.yaml'), `
experiment: ${experiment}
nodes: [${sshNodeYaml(node, sshd, `collector: { command: ["${process.execPath}", "${BIN}"] }`)}]
stacks: [{ name: linux, partitions: [{ name: ${part}, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: sysbench, partition: ${part}, parameters: { test: cpu, seconds: 2 } }
matrix: { nodeCounts: [1], background: [false], repetitions: 1, timeoutSeconds: 60 }
measure: { intervalMs: 200, ebpf: false }
`);
      const [s] = await new Runner({ experiment: loadExperiment(join(dir, 'e.yaml')), catalog: loadCatalog([CATALOG]), producer, stateDir: join(dir, 'state'), measure: { bus, stateDir: join(dir, 'data') } }).execute();
      expect(s, s?.message ?? '').toMatchObject({ phase: 'end' });
      // The partition's own counters came over HTTP into the embedded bus, stamped by the node's collector.
      const consumer = bus.consumer({ group: uniqueName('check'), topics: ['samples'] });
      const seen: { node: string; partition?: string | null | undefined; run?: string | null | undefined; cgroup?: string | null | undefined }[] = [];
      await consumer.run(async (b) => { for (const m of b.messages) seen.push(...decode(m.value, 'samples').records); });
      for (let i = 0; i < 50 && !seen.some((r) => r.partition === part); i++) await new Promise((r) => setTimeout(r, 100));
      await consumer.shutdown();
      const own = seen.filter((r) => r.node === node && r.partition === part && r.run === s!.run);
      expect(own.length).toBeGreaterThan(0);
      expect(own.every((r) => r.cgroup === `/${partitionCgroup({ experiment, run: s!.run, node, partition: part })}`)).toBe(true);
    } finally {
      await producer.shutdown();
      await bus.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
