/**
 * The shipped example through the compiled CLI in the embedded default, alone (no `isoscope up`,
 * no services): `isoscope run examples/stream-interference.yaml` starts the collector itself, and
 * every finished run has samples tagged with it, the workload partition's own counters (perf by
 * cgroup, stamped by the collector) exist in every run although both partitions share cpu 0, and
 * compare finds the slowdown and lists the workload partition's counters with effect sizes, in the
 * direction that explains it: the workload's CPU time per interval falls, its run-queue latency rises.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { compareRuns } from '../../query/compare.js';
import { queryAll } from '../../query/runs.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { partitionCgroup } from '../drivers/cgroup-path.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'isoscope.js');
const tempDir = tempDirs('isoscope-example-');

const missing = ['hpcc', 'mpirun', 'stress-ng'].filter((t) => {
  try {
    return !execFileSync('sh', ['-c', `command -v ${t}`]).toString().trim();
  } catch {
    return true;
  }
});

describe.skipIf(process.getuid?.() !== 0)('the shipped example measures itself (embedded default; needs root, hpcc, stress-ng)', () => {
  it('tags every run with samples, counts the workload partition on its own, and compare explains the slowdown', async () => {
    expect(missing, `scripts/prerequisites.sh installs ${missing.join(', ')}`).toEqual([]);
    const dir = tempDir();
    copyFileSync(join(ROOT, 'examples', 'stream-interference.yaml'), join(dir, 'e.yaml'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, ISOSCOPE_LOG_LEVEL: 'error', ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_DATA_DIR: join(dir, 'data') };
    const r = await exec(process.execPath, [BIN, 'run', 'e.yaml', '--progress', 'lines'], { cwd: dir, env, maxBuffer: 64 << 20 });
    expect(r.stdout).not.toMatch(/│ (fail|abort)\s+│/);

    const store = new DuckDbStore({ path: join(dir, 'data', 'isoscope.duckdb') });
    await store.start();
    try {
      const rows = async (sql: string) => (await queryAll(store, sql)).rows;
      const runs = (await rows(`SELECT run FROM runs WHERE experiment = 'stream-interference' AND phase = 'end'`)).map((x) => String(x[0]));
      expect(runs).toHaveLength(6);
      const perRun = new Map((await rows(`SELECT run, count(*) FROM samples WHERE run IS NOT NULL GROUP BY run`)).map(([run, n]) => [String(run), Number(n)]));
      for (const run of runs) expect(perRun.get(run) ?? 0, `samples of ${run}`).toBeGreaterThan(100);
      // Counted by the partition's own cgroup, the one of that run (drivers/cgroup-path.ts).
      const own = new Map((await rows(`SELECT run, cgroup, sum(value) FROM samples WHERE "partition" = 'app' AND source = 'perf' AND metric = 'task-clock' GROUP BY run, cgroup`))
        .filter(([run, cgroup]) => cgroup === `/${partitionCgroup({ experiment: 'stream-interference', run: String(run), node: 'local', partition: 'app' })}`)
        .map(([run, , v]) => [String(run), Number(v)]));
      for (const run of runs) expect(own.get(run) ?? 0, `task-clock of partition app in ${run}`).toBeGreaterThan(1e8);

      const cmp = await compareRuns(store, { experiment: 'stream-interference', top: 100, level: 0.95 });
      process.stdout.write(`example: HPL ${cmp.baseline.mean?.toFixed(2)} → ${cmp.interfered.mean?.toFixed(2)} ${cmp.unit}, slowdown ${cmp.slowdown?.estimate.toFixed(2)}\n`);
      expect(cmp.slowdown?.estimate).toBeGreaterThan(1.15);
      const workload = cmp.metrics.filter((m) => m.scope === 'workload' && m.partition === 'app');
      const metric = (name: string) => workload.find((m) => m.metric === name);
      for (const m of workload.slice(0, 8)) process.stdout.write(`  workload ${m.metric}: ${m.baseline_mean} → ${m.interfered_mean} ${m.unit ?? ''} (g ${m.hedges_g?.toFixed(2)})\n`);
      expect(metric('task-clock')?.hedges_g).toEqual(expect.any(Number));
      expect(metric('task-clock')!.delta!).toBeLessThan(0); // the workload's share of its CPU falls
      const runq = metric('run_queue_latency_p99') ?? metric('run_queue_latency_p50');
      expect(runq, 'run-queue latency of the workload partition (eBPF runqlat attributed by cgroup)').toBeDefined();
      expect(runq!.delta!).toBeGreaterThan(0); // and it waits longer to run
    } finally {
      await store.shutdown();
    }
  }, 600_000);
});
