/**
 * Crash recovery through the compiled CLI: `isoscope run` is killed with SIGKILL in the middle of the
 * matrix (its workload still running in a cpuset), then started again. The interrupted run must be
 * recorded `abort`, its partition destroyed (leftover tasks killed), and the matrix completed without
 * repeating a finished run. Records go through the real Kafka into QuestDB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import type { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { pollUntil, servicesEnv, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'isoscope.js');
const tempDir = tempDirs('isoscope-crash-');

describe.skipIf(process.getuid?.() !== 0)('orchestrator crash recovery (kill -9, restart) through the CLI', () => {
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;
  beforeAll(async () => void ({ bus, store, db } = await openKafkaQuestDb()));
  afterAll(() => closeKafkaQuestDb({ bus, store, db }));

  it('records the interrupted run as aborted, cleans its partition and completes the matrix without repeats', async () => {
    const dir = tempDir();
    const experiment = uniqueName('crash-itest');
    const partition = uniqueName('crash');
    writeFileSync(join(dir, 'experiment.yaml'), `
experiment: ${experiment}
nodes: [{ name: local, transport: local }]
stacks: [{ name: linux, partitions: [{ name: ${partition}, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: sysbench, partition: ${partition}, parameters: { test: cpu, seconds: 3 } }
matrix: { nodeCounts: [1], background: [false], repetitions: 3, timeoutSeconds: 60 }
`);
    const env = { ...process.env, ...servicesEnv(testServices()), ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_DATA_DIR: join(dir, 'data'), ISOSCOPE_LOG_LEVEL: 'error' };
    const start = (): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } => {
      const child = spawn(process.execPath, [BIN, 'run', 'experiment.yaml', '--bus', 'kafka', '--progress', 'lines'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c));
      child.stderr!.on('data', (c: Buffer) => (out += c));
      return { child, done: new Promise((r) => child.on('exit', (code) => r({ code, out }))) };
    };
    const journal = join(dir, 'state', 'orchestrator', `${experiment}.journal`);
    const entries = () => (existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { t: string; phase?: string; run?: string; cell?: string; state?: { handle: { path: string } } }) : []);

    // First attempt: killed while the second run's workload runs in its partition.
    const first = start();
    // (The partition is journaled before its cgroup exists: wait for the workload inside it.)
    const busy = (path: string) => { try { return readFileSync(`${path}/cgroup.procs`, 'utf8').trim() !== ''; } catch { return false; } };
    const seen = await pollUntil(async () => entries(), (e) => e.filter((x) => x.t === 'run' && x.phase === 'start').length === 2 && e[e.length - 1]!.t === 'partition' && busy(e[e.length - 1]!.state!.handle.path), 90_000, 50);
    const interrupted = seen.filter((x) => x.t === 'run' && x.phase === 'start')[1]!.run!;
    const cgroup = seen[seen.length - 1]!.state!.handle.path;
    first.child.kill('SIGKILL');
    await first.done;
    expect(existsSync(cgroup)).toBe(true); // left behind by the crash
    const finishedBefore = entries().filter((x) => x.t === 'run' && x.phase === 'end').map((x) => x.cell);
    expect(finishedBefore).toEqual(['linux.n1.alone.r1']);

    // Restart: recovery, then the rest of the matrix.
    const second = await start().done;
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/1 recovered as aborted/);
    expect(existsSync(cgroup)).toBe(false);
    expect(existsSync(dirname(cgroup))).toBe(false); // and the run's cgroup directory
    expect(existsSync(`/tmp/isoscope/${interrupted}`)).toBe(false); // its work directory too
    const after = entries();
    expect(after.filter((x) => x.t === 'run' && x.phase === 'abort').map((x) => x.run)).toEqual([interrupted]);
    const ends = after.filter((x) => x.t === 'run' && x.phase === 'end').map((x) => x.cell!);
    expect(ends.sort()).toEqual(['linux.n1.alone.r1', 'linux.n1.alone.r2', 'linux.n1.alone.r3']);

    // And in QuestDB.
    const ingest = new Ingest(bus, store, { group: uniqueName('crash-ingest'), watermarkMs: 0, topics: ['runs', 'partitions', 'events'] });
    await ingest.start();
    await ingest.waitUntilIdle(500);
    await ingest.shutdown();
    const runs = await pollUntil(
      async () => (await db.query('SELECT run, phase, result, unit, message FROM runs WHERE experiment = $1 ORDER BY ts', [experiment])).rows,
      (rows) => rows.length >= 8,
    );
    expect(runs.filter((r) => r.phase === 'start')).toHaveLength(4);
    expect(runs.filter((r) => r.phase === 'end')).toHaveLength(3);
    expect(runs.filter((r) => r.phase === 'end').every((r) => r.unit === 'events/s' && r.result > 0)).toBe(true);
    const abort = runs.filter((r) => r.phase === 'abort');
    expect(abort).toHaveLength(1);
    expect(abort[0]).toMatchObject({ run: interrupted, message: expect.stringMatching(/orchestrator stopped during this run/) });
    const parts = await pollUntil(
      async () => (await db.query(`SELECT action, message FROM partitions WHERE run = $1 ORDER BY ts`, [interrupted])).rows,
      (rows) => rows.length >= 2,
    );
    expect(parts.map((p) => p.action)).toEqual(['create', 'destroy']);
    expect(parts[1]!.message).toMatch(/destroyed on restart/);
  });
});
