/**
 * `isoscope up` in one process on the embedded parts: real /proc/stat → embedded bus → ingest →
 * DuckDB, queried through the query service; and the same through the real command line.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { pollUntil } from '../test/services.js';
import { Standalone } from './standalone.js';
import { tempDirs } from '../test/temp-dirs.js';

const tempDir = tempDirs('isoscope-up-');

async function sql(url: string, statement: string): Promise<{ rows: unknown[][]; error?: string }> {
  const res = await fetch(`${url}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: statement }) });
  return (await res.json()) as { rows: unknown[][]; error?: string };
}

describe('standalone (isoscope up)', () => {
  it('collects this machine into DuckDB and answers SQL; shutdown loses nothing that was collected', async () => {
    const dataDir = tempDir();
    const node = new Standalone({
      bus: new EmbeddedBus({ dir: join(dataDir, 'bus') }),
      store: new DuckDbStore({ path: join(dataDir, 'isoscope.duckdb') }),
      node: 'up-test',
      dataDir,
      sources: ['procfs'],
      intervalMs: 100,
      ingestGroup: 'ingest',
      listen: '127.0.0.1:0',
    });
    await node.start();
    const seen = await pollUntil(async () => Number((await sql(node.queryUrl, 'SELECT count(DISTINCT seq) FROM samples')).rows[0]![0]), (n) => n >= 3, 20_000);
    expect(seen).toBeGreaterThanOrEqual(3);
    const refused = await sql(node.queryUrl, 'DELETE FROM samples');
    expect(refused.error).toMatch(/DELETE|read-only|not allowed|refused/i);
    await node.shutdown();

    // Every batch the collector numbered is in the store after shutdown (seq 0..next-1, no gaps).
    const store = new DuckDbStore({ path: join(dataDir, 'isoscope.duckdb') });
    await store.start();
    const r = await store.query("SELECT count(DISTINCT seq), min(seq), max(seq), count(DISTINCT metric) FROM samples WHERE node = 'up-test'");
    await store.shutdown();
    const [batches, min, max, metrics] = r.rows[0]!.map(Number);
    expect(min).toBe(0);
    expect(batches).toBe(max! + 1);
    expect(metrics).toBeGreaterThanOrEqual(8); // cpu.user … cpu.steal, context_switches, …
  });

  it('runs as `isoscope up`, prints where to query, and `isoscope sql` reaches it', async () => {
    const cwd = tempDir();
    const bin = new URL('../bin/isoscope.js', import.meta.url).pathname;
    const env = { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn', ISOSCOPE_QUERY_LISTEN: '127.0.0.1:0', ISOSCOPE_COLLECTOR_INTERVAL_MS: '100' };
    const up = spawn(process.execPath, [bin, 'up'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    up.stdout.on('data', (d) => (out += d));
    up.stderr.on('data', (d) => (err += d));
    try {
      await pollUntil(async () => out, (o) => o.includes('query: POST'), 30_000);
      expect(out, err).toMatch(/isoscope is up: collector .*procfs\+inventory every 100 ms/);
      expect(out).toMatch(/store: DuckDB in .*isoscope\.duckdb/);
      const count = await pollUntil(async () => {
        const res = await new Promise<string>((resolve) => {
          const p = spawn(process.execPath, [bin, 'sql', '--format', 'json', 'SELECT count(*) FROM samples'], { cwd, env });
          let s = '';
          p.stdout.on('data', (d) => (s += d));
          p.on('close', () => resolve(s));
        });
        return res ? Number((JSON.parse(res) as { rows: number[][] }).rows[0]![0]) : 0;
      }, (n) => n > 0, 30_000);
      expect(count).toBeGreaterThan(0);
    } finally {
      up.kill('SIGINT');
      await new Promise((r) => up.once('close', r));
    }
    expect(up.exitCode, err).toBe(0);
  });
});
