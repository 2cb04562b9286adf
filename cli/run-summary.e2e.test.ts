/**
 * The summary table of `isoscope run` written to a file (a pipe here): no colour codes, the workload's
 * own time apart from the whole run's (which includes the background warm-up), and a legend saying
 * what each column is. Needs root (linux-cpuset partitions).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'isoscope.js');
const CATALOG = join(import.meta.dirname, '..', 'orchestrator', 'testdata', 'catalog');
const tempDir = tempDirs('isoscope-run-summary-');

describe.skipIf(process.getuid?.() !== 0)('isoscope run summary (needs root for cpusets)', () => {
  it('plain text to a file; workload s excludes the 2 s background warm-up that total s includes; columns explained', async () => {
    const dir = tempDir();
    const catalog = join(dir, 'catalog');
    mkdirSync(catalog);
    writeFileSync(join(catalog, 'idle.yaml'), 'name: idle\nversion: 1\ndescription: Sleeps (a background that does nothing).\ncommand: [sleep, "600"]\n');
    const partition = uniqueName('sum');
    writeFileSync(join(dir, 'e.yaml'), `
experiment: ${uniqueName('summary')}
nodes: [{ name: local, transport: local }]
stacks: [{ name: linux, partitions: [{ name: ${partition}, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: echo-value, partition: ${partition}, parameters: { value: "abc" } }
background: [{ entry: idle, partition: ${partition} }]
matrix: { nodeCounts: [1], background: [true], repetitions: 1, timeoutSeconds: 60, warmupSeconds: 2 }
`);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, ISOSCOPE_LOG_LEVEL: 'error', ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_DATA_DIR: join(dir, 'data') };
    const r = await run(process.execPath, [BIN, 'run', 'e.yaml', '--catalog', CATALOG, '--catalog', catalog, '--progress', 'lines'], { cwd: dir, env, timeout: 120_000 });
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout).toMatch(/│ run\s+│ cell\s+│ phase\s+│ result\s+│ unit\s+│ workload s\s+│ total s\s+│ message/);
    const row = /│ end\s+│ 3\s+│ chars\s+│ ([\d.]+)\s+│ ([\d.]+)\s+│/.exec(r.stdout);
    expect(row, r.stdout).not.toBeNull();
    const [workload, total] = [Number(row![1]), Number(row![2])];
    expect(total).toBeGreaterThanOrEqual(2);
    expect(workload).toBeLessThan(total - 1.5);
    expect(r.stdout).toContain("workload s: the workload's own wall time (launch to exit)");
    expect(r.stdout).toContain('total s: the whole run (partitions, background warm-up, workload, teardown)');
  });
});
