import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/temp-dirs.js';
import { LocalTransport } from './local.js';
import { HOSTILE } from './hostile-values.js';

const tempDir = tempDirs('isoscope-local-');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LocalTransport', () => {
  const t = new LocalTransport({ node: 'here', killGraceMs: 300 });

  it('runs argv without a shell, streams lines, passes env, cwd and stdin', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const r = await t.exec(['sh', '-c', 'echo "$X"; pwd; cat; echo err >&2; exit 3', 'sh', ...HOSTILE], {
      env: { X: '$(id)' },
      cwd: dir,
      stdin: 'from-stdin',
      onLine: (s, l) => lines.push(`${s}:${l}`),
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(`$(id)\n${dir}\nfrom-stdin`);
    expect(lines).toEqual(['stdout:$(id)', `stdout:${dir}`, 'stderr:err', 'stdout:from-stdin']);
  });

  it('passes hostile arguments literally', async () => {
    const r = await t.exec(['printf', '%s\\0', ...HOSTILE]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('kills the whole process group on abort', async () => {
    const dir = tempDir();
    const ac = new AbortController();
    const p = t.exec(['sh', '-c', `sleep 30 & echo $! > ${dir}/child; trap '' TERM; wait`], { signal: ac.signal });
    while (!existsSync(`${dir}/child`) || !readFileSync(`${dir}/child`, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
    const child = Number(readFileSync(`${dir}/child`, 'utf8'));
    expect(alive(child)).toBe(true);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError', message: expect.stringMatching(/on node here was aborted/) });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(child)).toBe(false);
  });

  it('rejects with a timeout error naming the command', async () => {
    await expect(t.exec(['sleep', '10'], { timeoutMs: 100 })).rejects.toThrow(/command "sleep 10" on node here did not finish within 100 ms/);
  });

  it('names a missing executable', async () => {
    await expect(t.exec(['/nonexistent/prog'])).rejects.toThrow(/node here: cannot run "\/nonexistent\/prog": no such executable/);
  });
});
