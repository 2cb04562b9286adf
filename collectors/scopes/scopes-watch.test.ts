/**
 * How the scopes directory is looked at: watched (inotify), so a scope file is picked up at once
 * without polling; polled every `pollMs` where it is not watched; and rescanned slowly anyway, so a
 * change the watch cannot see (the directory replaced by a new one) is still found. Scope files
 * that are not valid JSON scopes are acknowledged with an error without opening any counter, so
 * these tests need neither root nor perf.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { PartitionScopes } from './partition-scopes.js';
import { ACK_SUFFIX, scopeAckSchema } from './scope-file.js';

const dirs: string[] = [];
const scopesList: PartitionScopes[] = [];
afterEach(async () => {
  for (const s of scopesList.splice(0)) await s.shutdown();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(o: { watch?: boolean; pollMs?: number; rescanMs?: number }): { dir: string; scopes: PartitionScopes } {
  const root = mkdtempSync(join(tmpdir(), 'isoscope-scopes-watch-'));
  dirs.push(root);
  const dir = join(root, 'scopes');
  const scopes = new PartitionScopes({ dir, events: ['task-clock'], ...o });
  scopesList.push(scopes);
  return { dir, scopes };
}

/** ms until `f` holds, or throws after `ms`. */
async function within(what: string, f: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - t0;
}

const ackError = (file: string) => scopeAckSchema.parse(JSON.parse(readFileSync(file + ACK_SUFFIX, 'utf8'))).error;

describe('the scopes directory', () => {
  it('is watched: a scope file is acknowledged long before any poll, and its removal is seen too', async () => {
    const { dir, scopes } = setup({ rescanMs: 120_000 });
    await scopes.start();
    expect(scopes.watching).toBe(true);
    const file = join(dir, 'r1__app.json');
    writeFileSync(file, '{"partition": "app"');
    // No poll for two minutes: only the watch can have found it.
    const ms = await within('the ack', () => existsSync(file + ACK_SUFFIX), 10_000);
    expect(ackError(file)).toMatch(/^not a scope file/);
    expect(scopes.partitions).toEqual(['r1__app.json']);
    rmSync(file);
    await within('the ack to go', () => !existsSync(file + ACK_SUFFIX), 10_000);
    expect(scopes.partitions).toEqual([]);
    console.log(`scope file acknowledged ${ms} ms after it was written (watched)`);
  });

  it('is polled every pollMs where it is not watched', async () => {
    const { dir, scopes } = setup({ watch: false, pollMs: 50 });
    await scopes.start();
    expect(scopes.watching).toBe(false);
    const file = join(dir, 'r1__app.json');
    writeFileSync(file, 'not json');
    await within('the ack', () => existsSync(file + ACK_SUFFIX), 10_000);
    expect(ackError(file)).toMatch(/^not a scope file/);
  });

  it('is rescanned slowly while watched, so a directory replaced under the watch is still read', async () => {
    const { dir, scopes } = setup({ rescanMs: 300 });
    await scopes.start();
    // A new directory of the same name: the old watch cannot see its files.
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    const file = join(dir, 'r1__app.json');
    writeFileSync(file, '[]');
    await within('the ack in the new directory', () => existsSync(file + ACK_SUFFIX), 10_000);
    expect(ackError(file)).toMatch(/^not a scope file/);
  });
});
