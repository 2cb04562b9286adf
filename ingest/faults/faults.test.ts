/**
 * Ingest under faults, on a Kafka + QuestDB pair of its own, driven by the load generator through
 * the real producer path: (1) the Kafka broker stopped and restarted mid-stream; (2) QuestDB stopped
 * for 30 s mid-stream; (3) 1,000,000 samples while ingest is SIGKILLed at random moments 5 times and
 * restarted. Each ends with exactly the produced samples in QuestDB, each once, with its values. The
 * big one runs last: every test's ingest group reads the topics from the beginning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startService, stopService } from '../../services/single.js';
import { pollUntil } from '../../test/services.js';
import { checkCollectors, expectedChecks, isoscope, killChildren, loadgenReport, rssMiB, startFaultServices, totalRows, type Child, type FaultServices } from './testing.js';

let svc: FaultServices;
let work: string;

beforeAll(async () => {
  svc = await startFaultServices();
  work = mkdtempSync(join(tmpdir(), 'isoscope-faults-work-'));
}, 180_000);

afterEach(() => killChildren());

afterAll(async () => {
  await svc?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
/** Phase lines on stderr, so a slow or failed run shows where its time went. */
const phase = (line: string) => process.stderr.write(`[faults +${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}\n`);

const rowsOf = (pattern: string) =>
  svc.withDb((db) => db.query(`SELECT count() n FROM samples WHERE collector LIKE '${pattern}'`)).then((r) => Number(r.rows[0].n)).catch(() => 0);

function loadgen(prefix: string, count: number, rate: number, collectors = 4): Child {
  return isoscope(
    ['loadgen', '--collectors', String(collectors), '--rate', String(rate), '--count', String(count), '--sink', 'kafka',
      '--node-prefix', prefix, '--state-dir', join(work, prefix), '--json', '--no-progress'],
    svc.env, work,
  );
}

/**
 * Waits until ingest has written some of `pattern`'s rows, failing at once with its output if it
 * wrote none in 60 s (pollUntil returns its last value at the deadline; a test that went on then
 * reported a dead ingest only at its end, as a failure of the fault it injected).
 */
async function firstRows(pattern: string, running: Child): Promise<void> {
  const n = await pollUntil(() => rowsOf(pattern), (k) => k > 0 || running.process.exitCode !== null, 60_000, 250);
  expect(n, `ingest wrote no ${pattern} rows (${running.process.exitCode === null ? 'still running' : `exited with ${running.process.exitCode}`}):\n${running.output().slice(-3000)}`).toBeGreaterThan(0);
}

function ingest(group: string, extra: string[] = []): Child {
  return isoscope(['ingest', '--group', group, '--metrics-listen', 'off', ...extra], svc.env, work);
}

/** Waits for a child to exit 0; fails with its output otherwise. */
async function succeeded(child: Child, what: string): Promise<void> {
  const code = await child.exited;
  if (code !== 0) throw new Error(`${what} exited with ${code}:\n${child.output().slice(-4000)}`);
}

/** Polls QuestDB (WAL applies asynchronously) until the collectors hold what loadgen produced. */
async function expectExact(child: Child, deadlineMs = 90_000): Promise<number> {
  const report = loadgenReport(child);
  expect(report.complete).toBe(true);
  expect(report.dropped).toBe(0);
  const expected = expectedChecks(report);
  const names = expected.map((c) => c.collector);
  const got = await pollUntil(
    () => svc.withDb((db) => checkCollectors(db, names)).catch(() => []),
    (checks) => JSON.stringify(checks) === JSON.stringify(expected),
    deadlineMs,
    1000,
  );
  expect(got).toEqual(expected);
  return totalRows(got);
}

describe('ingest under faults (own Kafka and QuestDB)', () => {
  it('the Kafka broker stopped and restarted mid-stream: exact counts, and ingest rides it out', async () => {
    const group = 'faults-broker';
    const running = ingest(group);
    const producer = loadgen('broker', 150_000, 15_000, 3);
    await firstRows('broker-%', running);
    expect(await stopService(svc.stateDir, 'kafka')).not.toBeNull();
    phase('kafka stopped mid-stream');
    await sleep(5000); // the producers spool, ingest waits
    await startService(svc.stateDir, 'kafka');
    phase('kafka restarted');
    await succeeded(producer, 'loadgen');
    await succeeded(ingest(group, ['--exit-when-idle']), 'the catch-up ingest');
    expect(await expectExact(producer)).toBe(150_000);
    expect(running.process.exitCode, `ingest died with the broker:\n${running.output().slice(-3000)}`).toBeNull();
    running.process.kill('SIGTERM');
    await running.exited;
  }, 300_000);

  it('QuestDB stopped for 30 s mid-stream: ingest holds (bounded memory), retries, catches up with exact counts', async () => {
    const group = 'faults-questdb';
    const running = ingest(group);
    const producer = loadgen('qdb', 200_000, 5_000, 2);
    await firstRows('qdb-%', running);
    expect(await stopService(svc.stateDir, 'questdb')).not.toBeNull();
    phase('questdb stopped mid-stream for 30 s');
    const rss: number[] = [];
    const outageEnd = Date.now() + 30_000;
    while (Date.now() < outageEnd) {
      expect(running.process.exitCode, `ingest died while QuestDB was away:\n${running.output().slice(-3000)}`).toBeNull();
      rss.push(rssMiB(running.process.pid!));
      await sleep(1000);
    }
    await startService(svc.stateDir, 'questdb');
    phase(`questdb restarted; ingest RSS during the outage ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MiB`);
    expect(running.process.exitCode, `ingest died while QuestDB was away:\n${running.output().slice(-3000)}`).toBeNull();
    // Fetching stops while the write is retried: memory stays flat while 150,000 samples pile up on
    // Kafka (what it holds is bounded by one fetch: kafka maxBytesPerPartition × partitions).
    expect(Math.max(...rss) - rss[0]!).toBeLessThan(100);
    await succeeded(producer, 'loadgen');
    expect(await expectExact(producer, 120_000)).toBe(200_000);
    running.process.kill('SIGTERM');
    await running.exited;
  }, 300_000);
  it('1,000,000 samples with ingest SIGKILLed 5 times at random moments: exactly 1,000,000 rows, the right values', async () => {
    const group = 'faults-sigkill';
    const producer = loadgen('kill', 1_000_000, 60_000);
    const kills: string[] = [];
    for (let i = 0; i < 5; i++) {
      const victim = ingest(group);
      // Let it join the group and write for a random while (rebalance after the last kill takes up to the 6 s session timeout).
      const before = await rowsOf('kill-%');
      // Once every sample is visible there is nothing more to write: waiting for more then only
      // cost the deadline (60 s of every run).
      await pollUntil(() => rowsOf('kill-%'), (n) => n > before || n >= 1_000_000, 60_000, 250);
      await sleep(500 + Math.random() * 2500);
      expect(victim.process.exitCode, `ingest run ${i + 1} exited on its own:\n${victim.output().slice(-3000)}`).toBeNull();
      victim.process.kill('SIGKILL');
      await victim.exited;
      kills.push(`kill ${i + 1} at ${new Date().toISOString()}`);
      phase(`ingest SIGKILLed (${i + 1}/5); ${await rowsOf('kill-%')} rows visible`);
    }
    expect(kills).toHaveLength(5);
    await succeeded(producer, 'loadgen');
    phase('loadgen done; last ingest until idle');
    await succeeded(ingest(group, ['--exit-when-idle']), 'the last ingest');
    expect(await expectExact(producer)).toBe(1_000_000);
    phase('1,000,000 rows exact');
  }, 600_000);
});
