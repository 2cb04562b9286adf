/**
 * The embedded default through the compiled CLI: `isoscope run` with no services configured writes
 * to the embedded bus, ingests into DuckDB before it exits, and `isoscope sql` / `isoscope runs` then
 * show the run, its partitions and its output. `isoscope cancel` leaves a request the runner obeys.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pollUntil, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'isoscope.js');
const CATALOG = join(import.meta.dirname, 'testdata', 'catalog');
const tempDir = tempDirs('isoscope-run-e2e-');

function setup(workload: string) {
  const dir = tempDir();
  const experiment = uniqueName('e2e');
  writeFileSync(join(dir, 'e.yaml'), `
experiment: ${experiment}
nodes: [{ name: local, transport: local }]
stacks: [{ name: linux, partitions: [{ name: ${uniqueName('e2e')}, driver: linux-cpuset, cpus: "0" }] }]
workload: ${workload}
matrix: { nodeCounts: [1], background: [false], repetitions: 1, timeoutSeconds: 60 }
`);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ISOSCOPE_LOG_LEVEL: 'error', ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_DATA_DIR: join(dir, 'data') };
  return { dir, experiment, env };
}

describe.skipIf(process.getuid?.() !== 0)('isoscope run / runs / cancel / sql in the embedded default (needs root for cpusets)', () => {
  it('runs an experiment into DuckDB; sql and runs show it; a second run has nothing to do', async () => {
    const { dir, experiment, env } = setup('{ entry: echo-value, partition: PART, parameters: { value: "x;y" } }');
    const file = join(dir, 'e.yaml');
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('PART', /name: (e2e-[^,]+),/.exec(text)![1]!));
    const r = await run(process.execPath, [BIN, 'run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines'], { cwd: dir, env });
    expect(r.stdout).toMatch(/│ end\s+│ 3\s+│ chars/);
    const sql = await run(process.execPath, [BIN, 'sql', '--format', 'json', `SELECT phase, result, unit FROM runs WHERE experiment = '${experiment}' ORDER BY ts`], { cwd: dir, env });
    expect(JSON.parse(sql.stdout)).toMatchObject({ rows: [['start', null, null], ['end', 3, 'chars']] });
    const parts = await run(process.execPath, [BIN, 'sql', `SELECT action FROM partitions WHERE run LIKE '${experiment}%' ORDER BY ts`], { cwd: dir, env });
    expect(parts.stdout).toMatch(/create[\s\S]*destroy/);
    expect(r.stdout).toMatch(/samples per run: [1-9]\d*/); // the in-process collector measured it
    const runs = await run(process.execPath, [BIN, 'runs', '--experiment', experiment], { cwd: dir, env });
    expect(runs.stdout).toMatch(new RegExp(`${experiment}\\.linux\\.n1\\.alone\\.r1\\.[0-9a-f]{6}.*end.*[0-9a-f]{12}\\s+[1-9]\\d*\\s+local:[1-9]\\d*`));
    const again = await run(process.execPath, [BIN, 'run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines'], { cwd: dir, env });
    expect(again.stdout).toMatch(/no runs were needed/);
  });

  it('warns under the summary about a finished run without samples (nothing measured it)', async () => {
    const { dir, env } = setup('{ entry: echo-value, partition: PART, parameters: { value: "z" } }');
    const file = join(dir, 'e.yaml');
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('PART', /name: (e2e-[^,]+),/.exec(text)![1]!) + 'measure: { enabled: false }\n');
    const r = await run(process.execPath, [BIN, 'run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines'], { cwd: dir, env });
    expect(r.stdout).toMatch(/warning: run \S+\.linux\.n1\.alone\.r1\.[0-9a-f]{6} finished with no samples tagged with it/);
  });

  it('isoscope cancel stops a running run: recorded abort, exit code 1', async () => {
    const { dir, experiment, env } = setup('{ entry: sysbench, partition: PART, parameters: { test: cpu, seconds: 60 } }');
    const file = join(dir, 'e.yaml');
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('PART', /name: (e2e-[^,]+),/.exec(text)![1]!));
    const child = spawn(process.execPath, [BIN, 'run', 'e.yaml', '--progress', 'lines'], { cwd: dir, env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    await pollUntil(async () => out, (o) => /running sysbench/.test(o), 60_000, 50);
    const runId = new RegExp(`(${experiment}\\.linux\\.n1\\.alone\\.r1\\.[0-9a-f]{6})`).exec(out)![1]!;
    const t0 = Date.now();
    await run(process.execPath, [BIN, 'cancel', runId], { cwd: dir, env });
    expect(await exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(out).toMatch(/│ abort\s+│/);
    expect(out).toMatch(/was cancelled \(isoscope cancel\)/);
  });
});
