/** `isoscope loadgen` through the compiled CLI, into the run's real Kafka: the report, and its errors. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { servicesEnv, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';

const run = promisify(execFile);
const BIN = new URL('../bin/isoscope.js', import.meta.url).pathname;
const tempDir = tempDirs('isoscope-loadgen-cli-');

describe('isoscope loadgen', () => {
  it('produces through the spool to Kafka and prints each collector\'s samples and sequence range', async () => {
    const cwd = tempDir();
    const prefix = uniqueName('lgcli');
    const { stdout } = await run(process.execPath, [BIN, 'loadgen', '--collectors', '2', '--rate', '20000', '--count', '3001', '--batch', '500', '--sink', 'kafka', '--node-prefix', prefix, '--no-progress'], {
      cwd,
      env: { ...process.env, ...servicesEnv(testServices()), ISOSCOPE_LOG_LEVEL: 'error' },
    });
    expect(stdout).toMatch(new RegExp(`│ ${prefix}-1/loadgen +│ 1501 +│ 4 +│ 0\\.\\.3 +│ 1125750 +│ 0 +│`));
    expect(stdout).toMatch(new RegExp(`│ ${prefix}-2/loadgen +│ 1500 +│ 3 +│ 0\\.\\.2 +│ 1124250 +│ 0 +│`));
    expect(stdout).toMatch(/^3001 samples in 7 batches of up to 500 to kafka in [\d.]+ s: \d+ samples\/s \(planned 20000\/s\)$/m);
  }, 60_000);

  it('refuses a load it cannot express, naming the option', async () => {
    const err = await run(process.execPath, [BIN, 'loadgen', '--count', '10', '--rate', '5000000', '--batch', '10', '--sink', 'embedded'], { cwd: tempDir() }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/--rate 5000000 with 4 collectors and batches of 10 needs an interval below 1 ms/);
  });
});
