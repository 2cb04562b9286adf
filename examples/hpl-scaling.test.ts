/**
 * A CI cut of examples/hpl-scaling.yaml on a real 2-node testbed: HPL (hpcc, one rank per node,
 * mpirun over SSH between the nodes) on 1 and 2 nodes, alone and with stress-ng on node 1, in the
 * isolated stack, with a collector on every node sending through the testbed's relays to Kafka.
 * Checks that the ranks ran in the nodes' partitions (the partition's cgroup, polled during the run:
 * hpcc in `<node>-app`, inside that node's network namespace; and the partition records), that every
 * run has samples from every node it used (tagged by ingest), and that the testbed is gone afterwards.
 * Needs root, openmpi and hpcc.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import type { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { pollUntil, servicesEnv, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import { SshTransport } from '../orchestrator/transport/ssh.js';
import type { InventoryNode } from '../testbed/inventory.js';
import { isoscope, leftovers } from '../testbed/testing.js';
import { parse } from 'yaml';

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
  const collectors = new AbortController();
  const collectorsDone: Promise<unknown>[] = [];

  beforeAll(async () => {
    c = await openKafkaQuestDb();
    await c.bus.ensureTopics(['runs', 'partitions', 'events', 'samples', 'dead-letters']);
    const kafkaPort = testServices().kafka.brokers[0]!.split(':')[1]!;
    const up = await isoscope(['testbed', 'up', '--nodes', '2', '--dir', testbed, '--prefix', PREFIX, '--subnet', SUBNET, '--forward', kafkaPort]);
    if (up.code !== 0) throw new Error(`testbed up failed: ${up.stderr}`);
    // A collector on every node, as a resident collector would run there: node name = host name,
    // Kafka at 127.0.0.1:<port> inside the node (the relay), its own data directory.
    const nodes = (parse(readFileSync(join(testbed, 'inventory.yaml'), 'utf8')) as { nodes: InventoryNode[] }).nodes;
    for (const n of nodes) {
      const t = new SshTransport({ node: n.name, host: n.host, user: n.user, privateKeyPath: n.key, knownHosts: n.knownHosts });
      await t.start();
      mkdirSync(join(dir, `collector-${n.name}`));
      collectorsDone.push(t.exec([process.execPath, BIN, 'collector', '--sink', 'kafka', '--interval', '250ms', '--source', 'procfs'], {
        env: { ISOSCOPE_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`, ISOSCOPE_DATA_DIR: join(dir, `collector-${n.name}`), ISOSCOPE_LOG_LEVEL: 'warn' },
        signal: collectors.signal,
      }).catch(() => undefined).finally(() => t.shutdown()));
    }
  }, 120_000);

  afterAll(async () => {
    collectors.abort();
    await Promise.all(collectorsDone);
    const down = await isoscope(['testbed', 'down', '--dir', testbed]);
    await closeKafkaQuestDb(c ?? {});
    expect(down.code, down.stderr).toBe(0);
    expect(await leftovers(PREFIX, testbed)).toEqual([]);
  }, 120_000);

  it('HPL on 1 and 2 nodes, ranks in the partitions, samples from every node of every run', async () => {
    const experiment = uniqueName('hpl-scaling-ci');
    const file = join(dir, 'hpl-scaling-ci.yaml');
    writeFileSync(file, cut(readFileSync(EXAMPLE, 'utf8'), experiment, join(testbed, 'inventory.yaml')));

    // Poll the app and noise partitions' cgroups while the experiment runs: which commands ran in
    // them, and in which node's network namespace.
    const netnsOf = (node: string) => `net:[${statSync(`/run/netns/isoscope-${node}`).ino}]`;
    const seen = new Set<string>();
    const poll = setInterval(() => {
      for (const node of [`${PREFIX}1`, `${PREFIX}2`]) {
        for (const part of ['app', 'noise']) {
          let pids: string[] = [];
          try { pids = readFileSync(`/sys/fs/cgroup/cpuset/isoscope/${node}-${part}/cgroup.procs`, 'utf8').split('\n').filter(Boolean); } catch { continue; }
          for (const pid of pids) {
            try {
              const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
              seen.add(`${node}-${part} ${comm} ${readlinkSync(`/proc/${pid}/ns/net`) === netnsOf(node) ? 'own-netns' : 'other-netns'}`);
            } catch { /* exited meanwhile */ }
          }
        }
      }
    }, 100);
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'run', file, '--progress', 'lines'], { cwd: dir, env: { ...process.env, ...servicesEnv(testServices()), ISOSCOPE_LOG_LEVEL: 'warn' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('close', (code) => resolve({ code, out }));
    });
    clearInterval(poll);
    expect(run.code, run.out).toBe(0);

    // Ranks in the partitions: hpcc in each node's app cpuset, in that node's namespace; the noise in tbc1's.
    expect([...seen].filter((s) => / hpcc /.test(s) || / stress-ng/.test(s)).sort()).toEqual(expect.arrayContaining([
      `${PREFIX}1-app hpcc own-netns`, `${PREFIX}2-app hpcc own-netns`, `${PREFIX}1-noise stress-ng own-netns`,
    ]));
    expect([...seen].filter((s) => s.endsWith('other-netns'))).toEqual([]);

    const ingest = new Ingest(c.bus, c.store, { group: uniqueName('hpl-scaling-ingest'), topics: ['runs', 'partitions', 'events', 'samples'] });
    await ingest.start();
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
    await ingest.shutdown();
    expect(Object.fromEntries(byRun)).toEqual(Object.fromEntries(used));
    const fig = runs.map((r) => `${(r.run as string).split('.').slice(1, 4).join('.')}: ${Number(r.result).toFixed(3)}`).sort();
    console.log(`hpl-scaling CI cut, HPL GFLOP/s per cell: ${fig.join(', ')}`);
  }, 900_000);
});

describe.runIf(!root || !tools)('examples/hpl-scaling.yaml (skipped)', () => {
  it('needs root, openmpi, hpcc and stress-ng', () => {
    console.log(`hpl-scaling test skipped: ${!root ? 'needs root (testbed, cpusets)' : 'needs mpirun, hpcc and stress-ng (scripts/prerequisites.sh)'}`);
    expect(root && tools).toBe(false);
  });
});
