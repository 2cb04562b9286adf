/**
 * Integration: the orchestrator on two real sshd "nodes" (this machine, over SSH), real cpuset
 * cgroups, real hpcc and stress-ng, records through real Kafka and ingest into QuestDB. hpcc's STREAM
 * runs in a cpuset on node n1, alone and with stress-ng memory-bandwidth noise in a sibling cpuset on
 * node n2, pinned to the same cpu, both sessions at autogroup nice -15 so they genuinely contend.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import type { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { pollUntil, uniqueName } from '../test/services.js';
import { sshNodeYaml, startSshd, type TestSshd } from '../test/sshd.js';
import { tempDirs } from '../test/temp-dirs.js';
import { loadCatalog } from './catalog/load.js';
import { loadExperiment } from './experiment/load.js';
import { Runner, type RunSummary } from './runner.js';
import { HOSTILE } from './transport/hostile-values.js';

const tempDir = tempDirs('isoscope-orch-');
const CPU = '0';

function nodesYaml(a: TestSshd, b: TestSshd): string {
  return [a, b].map((s, i) => `  - ${sshNodeYaml(`n${i + 1}`, s)}`).join('\n');
}

describe.skipIf(process.getuid?.() !== 0)('orchestrator over two sshd nodes → Kafka → QuestDB (needs root for cpusets)', () => {
  let a: TestSshd;
  let b: TestSshd;
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;

  beforeAll(async () => {
    [a, b] = await Promise.all([startSshd(), startSshd()]);
    ({ bus, store, db } = await openKafkaQuestDb());
    await bus.ensureTopics(['runs', 'partitions', 'events', 'samples', 'alerts', 'dead-letters']);
  });
  afterAll(async () => {
    await closeKafkaQuestDb({ bus, store, db });
    await Promise.all([a?.stop(), b?.stop()]);
  });

  async function runExperiment(yaml: string, catalogDirs: string[] = []): Promise<{ summaries: RunSummary[]; stateDir: string }> {
    const dir = tempDir();
    const file = join(dir, 'experiment.yaml');
    writeFileSync(file, yaml);
    const producer = bus.producer();
    await producer.start();
    const stateDir = join(dir, 'state');
    try {
      const runner = new Runner({ experiment: loadExperiment(file), catalog: loadCatalog(catalogDirs), producer, stateDir });
      return { summaries: await runner.execute(), stateDir };
    } finally {
      await producer.shutdown();
    }
  }

  async function ingestAll(): Promise<void> {
    const ingest = new Ingest(bus, store, { group: uniqueName('orch-ingest'), watermarkMs: 0, topics: ['runs', 'partitions', 'events'] });
    await ingest.start();
    await ingest.waitUntilIdle(500);
    await ingest.shutdown();
  }

  it('hpcc STREAM alone vs. with stress-ng noise, 2 repetitions: every run and partition record in QuestDB, results parsed, interfered HPL slower', async () => {
    const experiment = uniqueName('stream-itest');
    const { summaries } = await runExperiment(`
experiment: ${experiment}
nodes:
${nodesYaml(a, b)}
stacks:
  - name: linux
    partitions:
      - { name: app, driver: linux-cpuset, cpus: "${CPU}", nodes: [n1] }
      - { name: noise, driver: linux-cpuset, cpus: "${CPU}", nodes: [n2] }
workload: { entry: hpcc, partition: app, nodes: [n1], parameters: { N: 1000, metric: stream-triad } }
background:
  - { entry: stress-ng, partition: noise, nodes: [n2], parameters: { stressor: stream, workers: 2 } }
matrix: { nodeCounts: [1], background: [false, true], repetitions: 2, timeoutSeconds: 120, warmupSeconds: 1 }
autogroupNice: -15
`);
    expect(summaries.map((s) => [s.cell, s.phase, s.message])).toEqual([
      ['linux.n1.alone.r1', 'end', null], ['linux.n1.bg.r1', 'end', null],
      ['linux.n1.alone.r2', 'end', null], ['linux.n1.bg.r2', 'end', null],
    ]);
    for (const s of summaries) expect(s).toMatchObject({ unit: 'GB/s', result: expect.any(Number) });
    await ingestAll();

    const runs = await pollUntil(
      async () => (await db.query(`SELECT run, phase, background, repetition, result, unit, nodes, config FROM runs WHERE experiment = $1 ORDER BY ts`, [experiment])).rows,
      (rows) => rows.length >= 8,
    );
    expect(runs).toHaveLength(8);
    const ends = runs.filter((r) => r.phase === 'end');
    expect(ends.map((r) => r.run).sort()).toEqual(summaries.map((s) => s.run).sort());
    for (const r of ends) {
      expect(r.unit).toBe('GB/s');
      expect(r.result).toBeGreaterThan(0);
      const config = JSON.parse(r.config as string) as Record<string, unknown>;
      expect(config).toMatchObject({ catalog_entry: 'hpcc', catalog_version: 1, spec_hash: expect.stringMatching(/^[0-9a-f]{64}$/), drivers: ['linux-cpuset'], kernel: { n1: expect.any(String) } });
    }
    const runIds = summaries.map((s) => `'${s.run}'`).join(',');
    const parts = await pollUntil(
      async () => (await db.query(`SELECT "partition", node, action, cpus, run FROM partitions WHERE run IN (${runIds}) ORDER BY ts`)).rows,
      (rows) => rows.length >= 12,
    );
    // alone: app create+destroy; with noise: app and noise, create+destroy.
    expect(parts.filter((p) => p.action === 'create')).toHaveLength(6);
    expect(parts.filter((p) => p.action === 'destroy')).toHaveLength(6);
    expect(parts.filter((p) => p.partition === 'noise').every((p) => p.node === 'n2')).toBe(true);
    const events = await pollUntil(
      async () => (await db.query(`SELECT count(*) AS n FROM events WHERE source = 'orchestrator' AND run IN (${runIds})`)).rows[0]!.n as number,
      (n) => Number(n) > 0,
    );
    expect(Number(events)).toBeGreaterThan(0);

    // The noise really ran in its partition during the interfered runs (its output lines are events).
    const bgRuns = summaries.filter((s) => s.cell.includes('.bg.')).map((s) => `'${s.run}'`).join(',');
    const noise = await pollUntil(
      async () => (await db.query(`SELECT DISTINCT run, "partition", node FROM events WHERE source = 'orchestrator' AND run IN (${bgRuns}) AND "partition" = 'noise'`)).rows,
      (rows) => rows.length >= 2,
    );
    expect(noise.map((r) => r.node)).toEqual(['n2', 'n2']);
    // hpcc and the noise share cpu 0, each in its own autogroup at nice -15 (so the machine's other
    // work takes little from either): HPL, timed over the whole factorisation, loses about half.
    // STREAM's figure is the best of 10 cache-resident passes, each inside one scheduler slice, so
    // time-sharing barely lowers it: printed, not asserted (orchestrator/README.md).
    const figures = new Map(ends.map((r) => [r.run as string, (JSON.parse(r.config as string) as { figures: Record<string, number> }).figures]));
    const mean = (bg: boolean, pick: (s: RunSummary) => number) => { const v = summaries.filter((s) => s.cell.includes(bg ? '.bg.' : '.alone.')).map(pick); return v.reduce((x, y) => x + y, 0) / v.length; };
    console.log(`hpcc, alone vs. with stress-ng stream noise on the same cpu: STREAM Triad ${mean(false, (s) => s.result!).toFixed(2)} vs ${mean(true, (s) => s.result!).toFixed(2)} GB/s; HPL ${mean(false, (s) => figures.get(s.run)!.hpl!).toFixed(3)} vs ${mean(true, (s) => figures.get(s.run)!.hpl!).toFixed(3)} GFLOP/s`);
    expect(mean(true, (s) => figures.get(s.run)!.hpl!)).toBeLessThan(mean(false, (s) => figures.get(s.run)!.hpl!) * 0.8);
  }, 300_000); // four hpcc runs over SSH with set-up and tear-down: 120 s was not enough at a CI load of 30

  it('passes hostile parameter values to the remote command unchanged', async () => {
    const experiment = uniqueName('hostile-itest');
    const marker = `/tmp/isoscope-pwned-${process.pid}`;
    const value = `'; touch ${marker}; echo '$(touch ${marker})\`touch ${marker}\`"; touch ${marker} #`;
    const yaml = `
experiment: ${experiment}
nodes:
${nodesYaml(a, b)}
stacks:
  - name: linux
    partitions: [{ name: app, driver: linux-cpuset, cpus: "${CPU}" }]
workload: { entry: echo-value, partition: app, nodes: [n2], parameters: { value: ${JSON.stringify(value)} } }
matrix: { nodeCounts: [1], background: [false], repetitions: 1 }
`;
    const { summaries } = await runExperiment(yaml, [join(import.meta.dirname, 'testdata', 'catalog')]);
    expect(summaries[0]).toMatchObject({ phase: 'end', result: value.length, unit: 'chars' });
    expect(existsSync(marker)).toBe(false);
    await ingestAll();
    const lines = await pollUntil(
      async () => (await db.query(`SELECT raw FROM events WHERE run = $1 ORDER BY idx`, [summaries[0]!.run])).rows.map((r) => r.raw as string),
      (rows) => rows.length >= 2,
    );
    expect(lines).toContain(value);
    expect(HOSTILE.length).toBeGreaterThan(0);
  });

  it('refuses to start when a node is unreachable (preflight), naming the node and field', async () => {
    const experiment = uniqueName('unreachable-itest');
    const outcome = await runExperiment(`
experiment: ${experiment}
nodes:
${nodesYaml(a, b)}
  - { name: gone, transport: ssh, host: 127.0.0.1, port: 1, user: root, key: ${a.privateKeyPath}, knownHosts: "[127.0.0.1]:1 ${a.knownHostsLine.split(' ').slice(1).join(' ')}" }
stacks:
  - name: linux
    partitions: [{ name: app, driver: linux-cpuset, cpus: "${CPU}" }]
workload: { entry: echo-value, partition: app, nodes: [n1, gone], parameters: { value: ok } }
matrix: { nodeCounts: [1, 2], background: [false], repetitions: 1 }
`, [join(import.meta.dirname, 'testdata', 'catalog')]).then(() => null, (err: Error) => err);
    expect(outcome?.message).toMatch(/preflight found 1 problem; no run was started:\n {2}.*experiment\.yaml: nodes\[2\] \(gone\): unreachable: node gone \(root@127\.0\.0\.1:1\): cannot connect: .*ECONNREFUSED/);
  });
});
