import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validEvents } from '../testing.js';
import { CommandTailer, reportEvent, type CommandReport } from './command-tailer.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'isoscope-cmd-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function until<T>(what: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('CommandTailer', () => {
  it('delivers the lines of a console command and restarts it when it exits', async () => {
    const script = join(dir, 'console.sh');
    writeFileSync(script, 'printf "[0]:LWK version 1.3\\r\\n<8>(init_task) hello\\nno newline at the end"\n');
    const reports: CommandReport[] = [];
    const t = new CommandTailer({ command: 'sh', args: [script], initialDelayMs: 10, maxDelayMs: 20, onReport: (r) => reports.push(r) });
    await t.start();
    const got: string[] = [];
    await until(() => (reports.length >= 2 ? true : undefined));
    got.push(...(await t.read()));
    await t.shutdown();
    expect(got.slice(0, 3)).toEqual(['[0]:LWK version 1.3', '<8>(init_task) hello', 'no newline at the end']);
    expect(got.slice(3, 6)).toEqual(got.slice(0, 3));
    expect(reports[0]).toMatchObject({ outcome: 'exited', code: 0, attempt: 0 });
    expect(t.stats.runs).toBeGreaterThanOrEqual(2);
  });

  it('reports a console it cannot connect to, with its stderr, and backs off', async () => {
    const script = join(dir, 'busy.sh');
    writeFileSync(script, 'echo "Error> console.c(88): Console already has a reader" >&2; exit 1\n');
    const reports: CommandReport[] = [];
    const t = new CommandTailer({ command: 'sh', args: [script], initialDelayMs: 5, maxDelayMs: 40, onReport: (r) => reports.push(r) });
    await t.start();
    await until(() => (reports.length >= 3 ? true : undefined));
    await t.shutdown();
    expect(reports[0]).toMatchObject({ outcome: 'cannot_connect', code: 1, stderr: 'Error> console.c(88): Console already has a reader', attempt: 1 });
    expect(reports.map((r) => r.attempt).slice(0, 3)).toEqual([1, 2, 3]);
    expect(reports[2]!.retryInMs).toBeGreaterThanOrEqual(reports[0]!.retryInMs);
    expect(await t.read()).toEqual([]);
    const event = reportEvent(reports[0]!, 42n);
    validEvents([event]);
    expect(event).toMatchObject({ source: 'collector', kind: 'error', level: 'error', fields: { count: 1, value: 1 } });
    expect(event.message).toMatch(/^Command `sh .*busy\.sh` could not connect; restarting in \d+ ms\. stderr: Error> console\.c\(88\)/);
  });

  it('reports a command that does not exist as spawn_failed', async () => {
    const reports: CommandReport[] = [];
    const t = new CommandTailer({ command: join(dir, 'no-such-command'), initialDelayMs: 5, maxDelayMs: 10, onReport: (r) => reports.push(r) });
    await t.start();
    await until(() => (reports.length >= 1 ? true : undefined));
    await t.shutdown();
    expect(reports[0]).toMatchObject({ outcome: 'spawn_failed', stderr: expect.stringMatching(/ENOENT/) });
  });

  it('stops a long-running command on shutdown and bounds the lines it holds', async () => {
    const t = new CommandTailer({ command: 'sh', args: ['-c', 'i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done; sleep 30'], maxBufferedLines: 100 });
    await t.start();
    await until(() => (t.stats.dropped >= 200 ? true : undefined));
    const started = Date.now();
    await t.shutdown();
    expect(Date.now() - started).toBeLessThan(3000);
    const lines = await t.read();
    expect(lines).toHaveLength(100);
    expect(lines[0]).toBe('line 200');
    await t.shutdown();
  });
});
