/**
 * The embedded bus across processes: a producer SIGKILLed mid-send loses nothing it was told was
 * durable, and the directory lock refuses a second process until the first is gone. The child
 * (testdata/child.ts) is bundled with rolldown, vitest's own bundler, since Node 20 cannot run
 * TypeScript.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveredMessage } from '../bus.js';
import { EmbeddedBus } from './embedded-bus.js';
import { tempDirs } from '../../test/temp-dirs.js';
import { readAll } from './testing.js';

const tempDir = tempDirs('isoscope-bus-');


describe('embedded bus: processes', () => {
  let childJs = '';
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

  beforeAll(async () => {
    const { build } = await import('rolldown');
    const out = tempDir('isoscope-bus-child-');
    symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(out, 'node_modules'));
    await build({
      input: fileURLToPath(new URL('./testdata/child.ts', import.meta.url)),
      platform: 'node',
      external: (id) => !id.startsWith('.') && !id.startsWith('/'),
      resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
      output: { dir: out, format: 'esm', entryFileNames: 'child.mjs' },
      logLevel: 'warn',
    });
    childJs = join(out, 'child.mjs');
  });

  /** Starts the child and resolves once `ready` says so; `onLine` sees every stdout line. */
  function startChild(args: string[], ready: (line: string) => boolean, onLine: (line: string) => void = () => undefined): Promise<ChildProcess> {
    const child = spawn(process.execPath, [childJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISOSCOPE_LOG_LEVEL: 'error' } });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      let rest = '';
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          onLine(line);
          if (ready(line)) resolve(child);
        }
      });
      child.on('exit', (code) => reject(new Error(`the child exited with ${code} before it was ready: ${stderr}`)));
    });
  }

  // 'close' comes after stdout is drained, so every ack the child printed has been counted.
  const killed = (child: ChildProcess) => new Promise<void>((r) => (child.stdout!.readableEnded && (child.exitCode !== null || child.signalCode !== null) ? r() : child.once('close', () => r())));

  it('keeps every message whose send resolved when the producing process is SIGKILLed mid-send', async () => {
    const dir = tempDir();
    const acked: number[] = [];
    const child = await startChild(['produce', dir, 't'], (line) => line.startsWith('ack') && acked.length >= 3000, (line) => {
      const m = /^ack (\d+) (\d+)$/.exec(line);
      if (m) for (let i = Number(m[1]); i <= Number(m[2]); i++) acked.push(i);
    });
    child.kill('SIGKILL');
    await killed(child);
    const present = new Set((await readAll(dir, 't')).map((m) => Number(/^msg-(\d+)-/.exec(m.value.toString())![1])));
    const lost = acked.filter((i) => !present.has(i));
    expect(lost, `${lost.length} of ${acked.length} acknowledged messages are missing`).toEqual([]);
  });

  it('refuses a second process on the same directory, and takes over the lock once that process is dead', async () => {
    const dir = tempDir();
    const child = await startChild(['hold', dir], (line) => line === 'locked');
    await expect(new EmbeddedBus({ dir }).start()).rejects.toThrow(new RegExp(`in use by process ${child.pid}`));
    child.kill('SIGKILL');
    await killed(child);
    const bus = new EmbeddedBus({ dir });
    await bus.start();
    await expect(new EmbeddedBus({ dir }).start()).rejects.toThrow(/already open in this process/);
    await bus.shutdown();
  });
});
