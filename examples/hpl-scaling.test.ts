/**
 * A CI cut of examples/hpl-scaling.yaml on a real 2-node testbed: HPL (hpcc, one rank per node,
 * mpirun over SSH between the nodes) on 1 and 2 nodes, alone and with stress-ng on node 1, in the
 * isolated stack. The orchestrator starts a collector on every node (the inventory's
 * `collector.command`), which reaches Kafka at the orchestrator's address through the testbed's
 * relays. Checks that the ranks ran in the nodes' partitions (the partition's cgroup, polled during
 * the run: hpcc in `<node>-app`, inside that node's network namespace; and the partition records),
 * that every run has samples from every node it used and the app partition's own counters on every
 * node of the cell, that each node's rank ran on that node's own CPU at the experiment's autogroup
 * nice, that `isoscope report` draws one scaling point per node count and setting, and that the
 * testbed is gone afterwards. Needs root, openmpi, hpcc and stress-ng.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import type { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { pollUntil, questdbClient, servicesEnv, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import { slug } from '../orchestrator/drivers/cgroup-path.js';
import { isoscope, leftovers } from '../testbed/testing.js';
import { hostCpus } from '../orchestrator/node-cpus.js';

const root = process.getuid?.() === 0;
const tools = ['/usr/bin/mpirun', '/usr/bin/hpcc', '/usr/bin/stress-ng'].every((p) => existsSync(p));
const PREFIX = 'tbc';
const SUBNET = '198.18.219.0/24';
const BIN = new URL('../bin/isoscope.js', import.meta.url).pathname;
const EXAMPLE = new URL('./hpl-scaling.yaml', import.meta.url).pathname;
const tempDir = tempDirs('isoscope-hpl-scaling-');

/** The example, cut down: every replacement must apply, so a change of the example shows up here. */
function cut(text: string, experiment: string, inventory: string): string {
  const edits: [RegExp | string, string][] = [
    ['experiment: hpl-scaling', `experiment: ${experiment}`],
    ['include: ../.isoscope/testbed/inventory.yaml', `include: ${inventory}`],
    ['nodes: [tb1, tb2, tb3, tb4]', 'nodes: [tb1, tb2]'],
    ['nodeCounts: [1, 2, 4]', 'nodeCounts: [1, 2]'],
    ['stacks: [shared, isolated]', 'stacks: [isolated]'],
    ['repetitions: 2', 'repetitions: 1'],
    ['timeoutSeconds: 120', 'timeoutSeconds: 600'],
    [/N: \d+/, 'N: 200'],
    [/\btb(\d)\b/g, `${PREFIX}$1`],
    // eBPF programs are built on first use; this test is about nodes, not eBPF.
    ['autogroupNice: -15', 'autogroupNice: -15\nmeasure: { intervalMs: 250, ebpf: false }'],
  ];
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`examples/hpl-scaling.yaml changed: "${String(from)}" is not in it any more; update this cut`);
    text = next;
  }
  return text;
}

describe.skipIf(!root || !tools)('examples/hpl-scaling.yaml, cut for CI, on a 2-node testbed (root, openmpi, hpcc, stress-ng)', () => {
  let c: { bus: KafkaBus; store: QuestDbStore; db: pg.Client };
  const dir = tempDir();
  const testbed = join(dir, 'testbed');
  let ingest: Ingest | null = null;

  beforeAll(async () => {
    c = await openKafkaQuestDb();
    await c.bus.ensureTopics(['runs', 'partitions', 'events', 'samples', 'dead-letters']);
    const kafkaPort = testServices().kafka.brokers[0]!.split(':')[1]!;
    const up = await isoscope(['testbed', 'up', '--nodes', '2', '--dir', testbed, '--prefix', PREFIX, '--subnet', SUBNET, '--forward', kafkaPort, '--no-services']);
    if (up.code !== 0) throw new Error(`testbed up failed: ${up.stderr}`);
  }, 120_000);

  afterAll(async () => {
    await ingest?.shutdown().catch(() => undefined);
    const down = await isoscope(['testbed', 'down', '--dir', testbed]);
    await closeKafkaQuestDb(c ?? {});
    expect(down.code, down.stderr).toBe(0);
    expect(await leftovers(PREFIX, testbed)).toEqual([]);
  }, 120_000);

  it('HPL on 1 and 2 nodes, ranks in the partitions, samples from every node of every run', async () => {
    const experiment = uniqueName('hpl-scaling-ci');
    const t0 = Date.now();
    const file = join(dir, 'hpl-scaling-ci.yaml');
    writeFileSync(file, cut(readFileSync(EXAMPLE, 'utf8'), experiment, join(testbed, 'inventory.yaml')));

    // Poll the app and noise partitions' cgroups while the experiment runs: which commands ran in
    // them, and in which node's network namespace.
    const netnsOf = (node: string) => `net:[${statSync(`/run/netns/isoscope-${node}`).ino}]`;
    const seen = new Set<string>();
    const nices = new Set<string>(); // `<node> <autogroup nice>` of every hpcc rank seen
    const cpusOf = new Map<string, string>(); // node → cpuset.cpus of its app partition
    // Each run has its own directory (drivers/cgroup-path.ts): `isoscope/<experiment>-<run hash>/<node>-<part>`.
    const runDirs = () => { try { return readdirSync('/sys/fs/cgroup/cpuset/isoscope').filter((d) => d.startsWith(`${slug(experiment)}-`)); } catch { return []; } };
    const poll = setInterval(() => {
      for (const node of [`${PREFIX}1`, `${PREFIX}2`]) {
        for (const part of ['app', 'noise']) {
          const pids = runDirs().flatMap((d) => { try { return readFileSync(`/sys/fs/cgroup/cpuset/isoscope/${d}/${node}-${part}/cgroup.procs`, 'utf8').split('\n').filter(Boolean); } catch { return []; } });
          if (part === 'app') for (const d of runDirs()) try { cpusOf.set(node, readFileSync(`/sys/fs/cgroup/cpuset/isoscope/${d}/${node}-${part}/cpuset.cpus`, 'utf8').trim()); } catch { /* not on this node in this run, or removed meanwhile */ }
          for (const pid of pids) {
            try {
              const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
              if (comm === 'hpcc') nices.add(`${node} ${/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]}`);
              seen.add(`${node}-${part} ${comm} ${readlinkSync(`/proc/${pid}/ns/net`) === netnsOf(node) ? 'own-netns' : 'other-netns'}`);
            } catch { /* exited meanwhile */ }
          }
        }
      }
    }, 20);
    // Ingest runs while the experiment does, as on a testbed: samples are tagged live (watermark,
    // control feed), and a bus holding other tests' history is worked through meanwhile.
    ingest = new Ingest(c.bus, c.store, { group: uniqueName('hpl-scaling-ingest'), topics: ['runs', 'partitions', 'events', 'samples'] });
    await ingest.start();
    const run = await isoscopeIn(dir, ['run', file, '--progress', 'lines']);
    clearInterval(poll);
    expect(run.code, run.stdout + run.stderr).toBe(0);

    // Ranks in the partitions: hpcc in each node's app cpuset, in that node's namespace; the noise in tbc1's.
    expect([...seen].filter((s) => / hpcc /.test(s) || / stress-ng/.test(s)).sort()).toEqual(expect.arrayContaining([
      `${PREFIX}1-app hpcc own-netns`, `${PREFIX}2-app hpcc own-netns`, `${PREFIX}1-noise stress-ng own-netns`,
    ]));
    expect([...seen].filter((s) => s.endsWith('other-netns'))).toEqual([]);
    // Each node's rank on its own CPU (the inventory's per-node CPU share: the node's CPU 0 is CPU 0
    // on tbc1 and CPU 1 on tbc2), and at the experiment's autogroup nice on every node (the ranks
    // mpirun starts over SSH are sessions of their own).
    const inventory = (parse(readFileSync(join(testbed, 'inventory.yaml'), 'utf8')) as { nodes: { name: string; cpus: string }[] }).nodes;
    expect(Object.fromEntries(cpusOf)).toEqual(Object.fromEntries(inventory.map((n) => [n.name, hostCpus(n.cpus, '0')])));
    if (availableParallelism() > 1) expect(cpusOf.get(`${PREFIX}1`)).not.toBe(cpusOf.get(`${PREFIX}2`));
    expect([...nices].sort()).toEqual([`${PREFIX}1 -15`, `${PREFIX}2 -15`]);

    // QuestDB closes PG connections idle for 5 minutes, which a run on a loaded machine outlasts.
    await c.db.end().catch(() => undefined);
    c.db = await questdbClient(testServices());
    const runs = await pollUntil(
      async () => (await c.db.query(`SELECT run, result, unit, config FROM runs WHERE experiment = $1 AND phase = 'end'`, [experiment])).rows,
      (rows) => rows.length >= 4, 120_000, 500,
    );
    expect(runs).toHaveLength(4);
    const used = new Map(runs.map((r) => [r.run as string, (JSON.parse(r.config as string) as { used_nodes: string[] }).used_nodes.sort()]));
    for (const r of runs) expect(r).toMatchObject({ unit: 'GFLOP/s', result: expect.any(Number) });
    const ids = runs.map((r) => `'${r.run as string}'`).join(',');
    // Partition records: the app partition on every node of the cell, with the run.
    const parts = await pollUntil(
      async () => (await c.db.query(`SELECT run, node, "partition" FROM partitions WHERE run IN (${ids}) AND action = 'create'`)).rows,
      (rows) => rows.length >= 6, 60_000, 500,
    );
    for (const [runId, nodes] of used) expect(parts.filter((p) => p.run === runId && p.partition === 'app').map((p) => p.node as string).sort()).toEqual(nodes.filter((n) => runId.includes('.n2.') || n === `${PREFIX}1`));
    // Samples: every run has samples from every node it used (collector → relay → Kafka → ingest tagging).
    const byRun = await pollUntil(
      async () => {
        const rows = (await c.db.query(`SELECT run, node, count() AS n FROM samples WHERE run IN (${ids}) GROUP BY run, node`)).rows;
        const m = new Map<string, string[]>();
        for (const r of rows) m.set(r.run as string, [...(m.get(r.run as string) ?? []), r.node as string].sort());
        return m;
      },
      (m) => [...used].every(([runId, nodes]) => JSON.stringify(m.get(runId)) === JSON.stringify(nodes)), 120_000, 1000,
    );
    // The app partition's own counters (perf by cgroup, stamped by the node's collector) on every node of the cell.
    const own = await pollUntil(
      async () => (await c.db.query(`SELECT run, node, count() AS n FROM samples WHERE run IN (${ids}) AND "partition" = 'app' AND source = 'perf' AND metric = 'task-clock' GROUP BY run, node`)).rows,
      (rows) => rows.length >= 6, 60_000, 1000,
    );
    await ingest.shutdown();
    ingest = null;
    const untagged = (await c.db.query(`SELECT node, count() AS n, min(ts) AS first, max(ts) AS last FROM samples WHERE run IS NULL AND node IN ('${PREFIX}1', '${PREFIX}2') AND ts >= $1 GROUP BY node`, [new Date(t0).toISOString()])).rows;
    expect(Object.fromEntries(byRun), `samples without a run on the nodes since the test started: ${JSON.stringify(untagged)}; ingest ${JSON.stringify(ingest?.stats)}`).toEqual(Object.fromEntries(used));
    for (const [runId, nodes] of used) expect(own.filter((r) => r.run === runId).map((r) => r.node as string).sort()).toEqual(nodes.filter((n) => runId.includes('.n2.') || n === `${PREFIX}1`));

    // The scaling figure: one point per node count and setting (isolated × 1, 2 nodes × alone, with background).
    const out = join(dir, 'report');
    const report = await isoscopeIn(dir, ['report', experiment, '--store', 'questdb', '--out', out, '--only', 'scaling', '--format', 'json']);
    expect(report.code, report.stderr).toBe(0);
    const points = readFileSync(join(out, 'figures', 'scaling.csv'), 'utf8').trim().split('\n');
    const header = points[0]!.split(',');
    const rows = points.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i]!, v])));
    expect(rows.map((r) => `${r.stack} ${r.nodes} ${r.condition}`).sort()).toEqual(['isolated 1 alone', 'isolated 1 with background', 'isolated 2 alone', 'isolated 2 with background']);
    expect(existsSync(join(out, 'figures', 'scaling.svg'))).toBe(true);
    const fig = runs.map((r) => `${(r.run as string).split('.').slice(1, 4).join('.')}: ${Number(r.result).toFixed(3)}`).sort();
    console.log(`hpl-scaling CI cut, HPL GFLOP/s per cell: ${fig.join(', ')}`);
  }, 900_000);
});

/** The compiled CLI in `cwd`, pointed at the test services. */
async function isoscopeIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...servicesEnv(testServices()), ISOSCOPE_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.runIf(!root || !tools)('examples/hpl-scaling.yaml (skipped)', () => {
  it('needs root, openmpi, hpcc and stress-ng', () => {
    console.log(`hpl-scaling test skipped: ${!root ? 'needs root (testbed, cpusets)' : 'needs mpirun, hpcc and stress-ng (scripts/prerequisites.sh)'}`);
    expect(root && tools).toBe(false);
  });
});
