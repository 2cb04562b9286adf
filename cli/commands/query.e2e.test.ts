/**
 * `isoscope query` through the compiled CLI on the test run's QuestDB: it serves the API on a free
 * port, answers health, runs and the OpenAPI document, refuses a DROP statement, and
 * stops cleanly on SIGTERM. Needs `npm run build` first (npm test does it).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pollUntil, servicesEnv, testServices } from '../../test/services.js';
import { tempDirs } from '../../test/temp-dirs.js';

const tempDir = tempDirs('isoscope-query-cli-');
const bin = fileURLToPath(new URL('../../bin/isoscope.js', import.meta.url));

describe('isoscope query', () => {
  it('serves the query API on the configured store until SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'query', '--store', 'questdb', '--listen', '127.0.0.1:0'], { cwd: tempDir(), env: { ...process.env, ...servicesEnv(testServices()) } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await pollUntil(async () => /query service on (http:\/\/[\d.:]+)/.exec(stderr)?.[1], (u) => u !== undefined, 30_000, 100);
      expect(url, `no address printed; stderr: ${stderr}`).toBeDefined();
      expect(await (await fetch(`${url}/api/health`)).json()).toEqual({ ok: true, store: 'questdb' });
      expect(await (await fetch(`${url}/api/runs?experiment=none-such-experiment`)).json()).toEqual({ runs: [] });
      expect(((await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
      const refused = await fetch(`${url}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"DROP TABLE runs"}' });
      expect(refused.status).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('names a bad --listen', async () => {
    const child = spawn(process.execPath, [bin, 'query', '--store', 'duckdb', '--listen', 'nowhere'], { cwd: tempDir(), env: { ...process.env, ISOSCOPE_DATA_DIR: tempDir() } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--listen: expected host:port, e\.g\. 127\.0\.0\.1:7410, got "nowhere"/);
  });
});
