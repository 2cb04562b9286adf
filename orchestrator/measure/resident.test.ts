/**
 * Resident collectors (started by someone else, e.g. a system service): the orchestrator starts
 * nothing, checks that samples stamped with the node's reported name reach the bus, and fails the
 * run with a clear message when none do. Real embedded bus, real collector agent, real cpusets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../bus/embedded/embedded-bus.js';
import { CollectorAgent } from '../../collectors/agent.js';
import { measuredSources } from '../../collectors/measure/build.js';
import { measureSchema } from '../../collectors/measure/schema.js';
import { SequenceFile } from '../../collectors/sequence.js';
import { uniqueName } from '../../test/services.js';
import { loadCatalog } from '../catalog/load.js';
import { loadExperiment } from '../experiment/load.js';
import { Runner } from '../runner.js';

const CATALOG = join(import.meta.dirname, '..', 'testdata', 'catalog');

describe.skipIf(process.getuid?.() !== 0)('resident collectors (needs root for cpusets)', () => {
  it('fails the run when no samples carry the reported name, and runs it once a collector reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-resident-'));
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    await bus.ensureTopics(['runs', 'partitions', 'events', 'samples']);
    const producer = bus.producer();
    await producer.start();
    const reports = uniqueName('svc');
    const scopes = join(dir, 'scopes');
    const write = (experiment: string) => {
      const part = uniqueName('r');
      writeFileSync(join(dir, `${experiment}.yaml`), `
experiment: ${experiment}
nodes: [{ name: local, transport: local, collector: { mode: resident, reports: ${reports}, scopesDir: ${scopes} } }]
stacks: [{ name: linux, partitions: [{ name: ${part}, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: echo-value, partition: ${part}, parameters: { value: "x" } }
matrix: { nodeCounts: [1], background: [false], repetitions: 1, timeoutSeconds: 60 }
measure: { intervalMs: 200, ebpf: false }
`);
      return loadExperiment(join(dir, `${experiment}.yaml`));
    };
    const run = (experiment: string) => new Runner({ experiment: write(experiment), catalog: loadCatalog([CATALOG]), producer, stateDir: join(dir, 'state'), measure: { bus, stateDir: join(dir, 'data'), arrivalTimeoutMs: 3000 } }).execute();
    let agent: CollectorAgent | null = null;
    try {
      const [silent] = await run(uniqueName('res-silent'));
      expect(silent).toMatchObject({ phase: 'fail', message: expect.stringMatching(new RegExp(`node local: no samples from its resident collector reached the bus within 3 s \\(expected samples stamped node "${reports}"`)) });

      // The "service": a collector agent stamping the reported name and watching the scopes directory.
      const m = measuredSources(measureSchema.parse({ intervalMs: 200, ebpf: false }), { scopesDir: scopes, stateDir: join(dir, 'svc') });
      agent = new CollectorAgent({ node: reports, collectorId: `${reports}/svc`, sources: m.sources, intervalMs: 200, producer, sequence: SequenceFile.forCollector(join(dir, 'svc'), `${reports}/svc`) });
      await agent.start();
      const [ok] = await run(uniqueName('res-ok'));
      expect(ok).toMatchObject({ phase: 'end', result: 1 });
    } finally {
      await agent?.shutdown();
      await producer.shutdown();
      await bus.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
