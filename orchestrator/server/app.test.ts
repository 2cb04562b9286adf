import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../bus/embedded/embedded-bus.js';
import type { BusProducer } from '../../bus/bus.js';
import { pollUntil, uniqueName } from '../../test/services.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { loadCatalog } from '../catalog/load.js';
import { orchestratorApp, type RunView } from './app.js';

const tempDir = tempDirs('isoscope-orch-http-');
const TOKEN = 'test-token-123';

const yaml = (name: string, workload: string) => `
experiment: ${name}
nodes: [{ name: local, transport: local }]
stacks: [{ name: linux, partitions: [{ name: ${uniqueName('http')}, driver: linux-cpuset, cpus: "0" }] }]
workload: ${workload}
matrix: { nodeCounts: [1], background: [false], repetitions: 1, timeoutSeconds: 60 }
`;

describe.skipIf(process.getuid?.() !== 0)('orchestrator HTTP API (real runs, embedded bus; needs root for cpusets)', () => {
  let bus: EmbeddedBus;
  let producer: BusProducer;
  let app: ReturnType<typeof orchestratorApp>;
  beforeAll(async () => {
    const dir = tempDir();
    bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    await bus.ensureTopics(['runs', 'partitions', 'events']);
    producer = bus.producer();
    await producer.start();
    app = orchestratorApp({
      token: TOKEN, producer, catalog: loadCatalog([join(import.meta.dirname, '..', 'testdata', 'catalog')]), stateDir: join(dir, 'state'), submitDir: join(dir, 'submitted'),
      saveSubmitted: (name, text) => { mkdirSync(join(dir, 'submitted'), { recursive: true }); writeFileSync(join(dir, 'submitted', `${name}.yaml`), text); return join(dir, 'submitted', `${name}.yaml`); },
    });
  });
  afterAll(async () => {
    app?.stopAll();
    await app?.idle();
    await producer?.shutdown();
    await bus?.shutdown();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  const runsOf = async (experiment: string) => ((await (await app.request('/api/runs')).json()) as { runs: RunView[] }).runs.filter((r) => r.experiment === experiment);

  it('refuses to submit or cancel without the token, and names bad experiments precisely', async () => {
    expect((await app.request('/api/experiments', { method: 'POST', body: yaml('x', '{}') })).status).toBe(401);
    expect((await app.request('/api/runs/some-run/cancel', { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const bad = await app.request('/api/experiments', { method: 'POST', headers: { ...auth, 'content-type': 'text/yaml' }, body: 'experiment: x\nnodes: []\n' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/submitted experiment: nodes: expected at least one node/);
  });

  it('runs a submitted experiment; list and get show its result', async () => {
    const name = uniqueName('http-ok');
    const res = await app.request('/api/experiments', { method: 'POST', headers: { ...auth, 'content-type': 'text/yaml' }, body: yaml(name, '{ entry: echo-value, partition: PART, parameters: { value: "a b;c" } }').replace('PART', '') });
    expect(res.status).toBe(400); // partition missing: refused with the field
    const text = yaml(name, '{ entry: echo-value, partition: P, parameters: { value: "a b;c" } }');
    const partition = /name: (http-[^,]+),/.exec(text)![1]!;
    const ok = await app.request('/api/experiments', { method: 'POST', headers: { ...auth, 'content-type': 'text/yaml' }, body: text.replace('partition: P', `partition: ${partition}`) });
    expect(ok.status).toBe(202);
    const runs = await pollUntil(() => runsOf(name), (r) => r.length === 1 && r[0]!.state !== 'running', 60_000);
    expect(runs[0]).toMatchObject({ state: 'end', result: 5, unit: 'chars' });
    expect(await (await app.request(`/api/runs/${runs[0]!.run}`)).json()).toMatchObject({ run: runs[0]!.run, state: 'end' });
    expect((await app.request('/api/runs/nope')).status).toBe(404);
  });

  it('cancels a running run: recorded abort', async () => {
    const name = uniqueName('http-cancel');
    const text = yaml(name, '{ entry: sysbench, partition: P, parameters: { test: cpu, seconds: 30 } }');
    const partition = /name: (http-[^,]+),/.exec(text)![1]!;
    expect((await app.request('/api/experiments', { method: 'POST', headers: { ...auth, 'content-type': 'text/yaml' }, body: text.replace('partition: P', `partition: ${partition}`) })).status).toBe(202);
    const [running] = await pollUntil(() => runsOf(name), (r) => r.length === 1 && /running sysbench/.test(r[0]!.step ?? ''), 60_000, 50);
    const t0 = Date.now();
    expect((await app.request(`/api/runs/${running!.run}/cancel`, { method: 'POST', headers: auth })).status).toBe(200);
    const [done] = await pollUntil(() => runsOf(name), (r) => r[0]!.state !== 'running', 30_000, 50);
    expect(done).toMatchObject({ state: 'abort', message: expect.stringMatching(/was cancelled/) });
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});
