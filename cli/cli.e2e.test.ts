/**
 * End to end through the real command line, as a user runs it: `isoscope collector --sink kafka`
 * reading this machine's /proc/stat, `isoscope ingest --exit-when-idle`, then `isoscope sql` on
 * QuestDB. Runs the compiled CLI (npm test builds it first).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pollUntil, servicesEnv, testServices, uniqueName } from '../test/services.js';

const run = promisify(execFile);
const BIN = new URL('../bin/isoscope.js', import.meta.url).pathname;

async function isoscope(args: string[], env: Record<string, string>, cwd: string) {
  return run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env, ISOSCOPE_LOG_LEVEL: 'warn' }, timeout: 120_000 });
}

describe('isoscope CLI on the cluster path', () => {
  it('collector → Kafka → ingest → QuestDB, counted with isoscope sql', async () => {
    const s = testServices();
    const cwd = mkdtempSync(join(tmpdir(), 'isoscope-e2e-'));
    const node = uniqueName('e2e');
    const env = { ...servicesEnv(s), ISOSCOPE_NODE: node };

    const collected = await isoscope(['collector', '--sink', 'kafka', '--interval', '100', '--count', '3'], env, cwd);
    const m = /sent 3 batches, (\d+) samples, seq 0\.\.2/.exec(collected.stderr);
    expect(m, collected.stdout + collected.stderr).not.toBeNull();
    const samples = Number(m![1]);
    expect(samples).toBeGreaterThan(0);

    // No metrics port: the default 127.0.0.1:9464 may be held by another test file running beside this one.
    const ingested = await isoscope(['ingest', '--exit-when-idle', '--group', uniqueName('e2e-group'), '--metrics-listen', 'off'], env, cwd);
    expect(ingested.stdout).toMatch(/^ingested \d+ messages \(samples \d+/);

    const count = await pollUntil(async () => {
      const out = await isoscope(['sql', '--store', 'questdb', '--format', 'json', `SELECT count(*) AS n, count_distinct(seq) AS batches FROM samples WHERE node = '${node}'`], env, cwd);
      return JSON.parse(out.stdout) as { rows: [number, number][] };
    }, (r) => r.rows[0]![0] >= samples);
    expect(count.rows[0]).toEqual([samples, 3]);
  });

  it('refuses a write through isoscope sql on QuestDB (read-only user)', async () => {
    const s = testServices();
    const cwd = mkdtempSync(join(tmpdir(), 'isoscope-e2e-'));
    const err = await isoscope(['sql', '--store', 'questdb', 'DROP TABLE samples'], servicesEnv(s), cwd).then(() => null, (e: { stderr: string; code: number }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/isoscope sql: .*(permission|read.?only|denied)/i);
  });

  it('prints help for every subcommand', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'isoscope-help-'));
    for (const sub of ['up', 'collector', 'ingest', 'sql', 'services', 'services start', 'services stop', 'services status', 'schema', 'config']) {
      const out = await isoscope([...sub.split(' '), '--help'], {}, cwd);
      expect(out.stdout, sub).toMatch(/^Usage: isoscope /);
    }
  });

  it('names the file, field path and expectation for a bad config file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'isoscope-badcfg-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(cwd, 'isoscope.yaml'), 'collector:\n  intervalMs: -3\n');
    const err = await isoscope(['sql', 'SELECT 1'], {}, cwd).then(() => null, (e: { stderr: string }) => e);
    expect(err?.stderr).toContain(`${join(cwd, 'isoscope.yaml')}: collector.intervalMs: Too small: expected number to be >=1`);
  });
});

describe('isoscope collector without its Kafka', () => {
  it('starts anyway, spools to disk, and on SIGTERM exits within 5 s keeping the spool for next time', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'isoscope-spool-e2e-'));
    const { spawn } = await import('node:child_process');
    const { existsSync, readdirSync, statSync } = await import('node:fs');
    const { SpoolDir } = await import('../collectors/spool/spool-dir.js');
    const env = { ...process.env, ISOSCOPE_KAFKA_BROKERS: '127.0.0.1:9', ISOSCOPE_LOG_LEVEL: 'error' };
    const child = spawn(process.execPath, [BIN, 'collector', '--sink', 'kafka', '--source', 'procfs', '--interval', '100ms'], { cwd, env });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const spool = join(cwd, 'data', 'collector', 'spool');
    // The spool is a log (group commits appended to one file), so its size, not a file count, shows
    // that batches were written; at 100 ms two more seconds add about twenty.
    const spoolBytes = () => (existsSync(spool) ? readdirSync(spool).reduce((n, f) => n + statSync(join(spool, f)).size, 0) : 0);
    await pollUntil(async () => spoolBytes(), (n) => n > 0, 20_000, 100);
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    expect(Date.now() - t0, err).toBeLessThan(5000);
    const said = /(\d+) batches still spooled/.exec(err);
    expect(said, err).not.toBeNull();
    const left = Number(said![1]);
    expect(left, err).toBeGreaterThanOrEqual(5);
    // Kept for next time: a spool opened on the directory finds every batch the collector said it left.
    const reopened = new SpoolDir(spool, 64 * 1024 * 1024);
    await reopened.open();
    try {
      expect(reopened.stats.batches).toBe(left);
    } finally {
      await reopened.close();
    }
  });
});
