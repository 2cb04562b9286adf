/**
 * The measurement over two real sshd nodes: the orchestrator starts `isoscope collector` on each
 * over SSH (the node's collector.command), hands each node's partition to it, and the samples reach
 * Kafka → ingest → QuestDB tagged with node, run and partition (stamped by the collector, counted
 * by cgroup). One collector is killed with SIGKILL mid-run: it is started again, the restart is an
 * `events` row, and samples from that node go on after it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../../bus/kafka/kafka-bus.js';
import { Ingest } from '../../ingest/ingest.js';
import type { QuestDbStore } from '../../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../../test/cluster.js';
import { pollUntil, testServices, uniqueName } from '../../test/services.js';
import { sshNodeYaml, startSshd, type TestSshd } from '../../test/sshd.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { loadCatalog } from '../catalog/load.js';
import { loadExperiment } from '../experiment/load.js';
import { Runner, type Progress } from '../runner.js';
import { defaultScopesDir } from './measurement.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'isoscope.js');
const tempDir = tempDirs('isoscope-measure-');

describe.skipIf(process.getuid?.() !== 0)('measurement over two sshd nodes → Kafka → ingest → QuestDB (needs root for cgroups)', () => {
  let a: TestSshd;
  let b: TestSshd;
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;
  let ingest: Ingest;

  beforeAll(async () => {
    [a, b] = await Promise.all([startSshd(), startSshd()]);
    ({ bus, store, db } = await openKafkaQuestDb());
    await bus.ensureTopics(['runs', 'partitions', 'events', 'samples', 'dead-letters']);
    // Only what this test produces: the shared topics hold other tests' samples.
    ingest = new Ingest(bus, store, { group: uniqueName('measure-ingest'), watermarkMs: 2000, fromBeginning: false });
    await ingest.start();
  });
  afterAll(async () => {
    await ingest?.shutdown();
    await closeKafkaQuestDb({ bus, store, db });
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('starts the collectors over SSH, tags their samples with node, run and partition, and restarts one killed mid-run', async () => {
    const dir = tempDir();
    const [n1, n2] = [uniqueName('m1'), uniqueName('m2')];
    const node = (name: string, s: TestSshd) => `  - ${sshNodeYaml(name, s, `collector: { command: ["${process.execPath}", "${BIN}"] }`)}`;
    const experiment = uniqueName('measure-ssh');
    writeFileSync(join(dir, 'e.yaml'), `
experiment: ${experiment}
nodes:
${node(n1, a)}
${node(n2, b)}
stacks: [{ name: linux, partitions: [{ name: app, driver: linux-cpuset, cpus: "1" }] }]
workload: { entry: wait-for-file, partition: app, parameters: { file: ${join(dir, 'go')} } }
catalog: [cat]
matrix: { nodeCounts: [2], background: [false], repetitions: 1, timeoutSeconds: 300 }
measure: { intervalMs: 250, ebpf: false }
`);
    // The run lasts until the test lets it end: after n1's collector was killed, came back, and counted a while.
    mkdirSync(join(dir, 'cat'));
    writeFileSync(join(dir, 'cat', 'wait.yaml'), [
      'name: wait-for-file', 'version: 1', 'description: runs until a file exists', 'parameters:', '  file: { type: string }',
      `command: [sh, -c, 'i=0; while [ ! -e "$1" ] && [ $i -lt 1800 ]; do sleep 0.1; i=$((i+1)); done; echo done=1', wait, "{{file}}"]`,
      'result: { parser: regex, regex: "^done=([0-9]+)$", unit: x }', '',
    ].join('\n'));
    const producer = bus.producer();
    await producer.start();
    let killed: Promise<void> | null = null;
    const pidFile = `${defaultScopesDir(experiment, join(dir, 'data'), n1)}/collector.pid`;
    const onProgress = (p: Progress) => {
      if (p.type === 'step' && p.message.startsWith('running wait-for-file') && !killed) {
        killed = (async () => {
          await new Promise((r) => setTimeout(r, 1000));
          const old = readFileSync(pidFile, 'utf8').trim();
          execFileSync('kill', ['-KILL', old]);
          await pollUntil(async () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : old), (pid) => pid !== old, 180_000, 100);
          await new Promise((r) => setTimeout(r, 3000));
          writeFileSync(join(dir, 'go'), '');
        })();
      }
    };
    try {
      const runner = new Runner({
        experiment: loadExperiment(join(dir, 'e.yaml')), catalog: loadCatalog([join(dir, 'cat')]), producer, stateDir: join(dir, 'state'), onProgress,
        measure: { bus, kafkaBrokers: testServices().kafka.brokers, stateDir: join(dir, 'data') },
      });
      const summaries = await runner.execute();
      expect(summaries.map((s) => [s.phase, s.message])).toEqual([['end', null]]);
      expect(killed).not.toBeNull();
      await killed;
      const run = summaries[0]!.run;

      const restarts = await pollUntil(async () => (await db.query({ text: `SELECT node, kind, level, message, fields FROM events WHERE source = 'orchestrator' AND kind = 'collector_restart' AND node IN ($1, $2)`, values: [n1, n2] })).rows, (r) => r.length >= 1, 60_000);
      expect(restarts).toHaveLength(1);
      expect(restarts[0]).toMatchObject({ node: n1, level: 'warning', message: expect.stringMatching(new RegExp(`collector on node ${n1} died \\(killed by SIGKILL\\)`)) });

      const perNode = await pollUntil(
        async () => (await db.query({ text: `SELECT node, count() n, min(ts) first, max(ts) last FROM samples WHERE run = $1 AND "partition" = 'app' AND source = 'perf' AND cgroup IS NOT NULL AND metric = 'task-clock' GROUP BY node ORDER BY node`, values: [run] })).rows,
        (r) => r.length === 2,
        60_000,
      );
      expect(perNode.map((r) => r.node).sort()).toEqual([n1, n2].sort());
      for (const r of perNode) expect(Number(r.n)).toBeGreaterThan(10);
      // Samples of the killed node's partition after its restart: the new collector counted it again.
      const restartTs = (await db.query({ text: `SELECT ts FROM events WHERE kind = 'collector_restart' AND node = $1`, values: [n1] })).rows[0]!.ts as Date;
      const after = await pollUntil(async () => (await db.query({ text: `SELECT count() n FROM samples WHERE node = $1 AND run = $2 AND "partition" = 'app' AND ts > $3`, values: [n1, run, restartTs] })).rows[0]!, (r) => Number(r.n) > 0, 30_000);
      expect(Number(after.n)).toBeGreaterThan(0);
      // Node-wide samples of both nodes carry the run too (ingest, by node).
      const wide = (await db.query({ text: `SELECT node, count() n FROM samples WHERE run = $1 AND source = 'procfs' GROUP BY node`, values: [run] })).rows;
      expect(wide.map((r) => r.node).sort()).toEqual([n1, n2].sort());
      const provenance = JSON.parse((await db.query({ text: `SELECT config FROM runs WHERE run = $1 AND phase = 'end'`, values: [run] })).rows[0]!.config as string) as Record<string, unknown>;
      expect(provenance).toMatchObject({ measure: { collectors: { [n1]: { kind: 'process', identity: n1 } } }, collector_restarts: { [n1]: 1, [n2]: 0 } });
    } finally {
      await producer.shutdown();
    }
  }, 300_000);
});
