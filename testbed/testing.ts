/**
 * Test helpers for the testbed: run the compiled CLI as root would, and list whatever of a testbed
 * is still on the machine (namespaces, links, UTS mounts, processes referring to its directory, files).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const BIN = new URL('../bin/isoscope.js', import.meta.url).pathname;

export async function isoscope(args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [BIN, ...args], { timeout: timeoutMs, env: { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** What of the testbed with this prefix and directory is still here; empty when it is all gone. */
export async function leftovers(prefix: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const n of netns) if (n.startsWith(`isoscope-${prefix}`)) out.push(`netns ${n}`);
  const links = (await execFileP('ip', ['-o', 'link', 'show'])).stdout;
  for (const m of links.matchAll(/^\d+:\s+([^:@\s]+)/gm)) if (m[1] === `br-${prefix}` || m[1]!.startsWith(`ve-${prefix}`)) out.push(`link ${m[1]}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  if (mounts.includes(`/run/isoscope-testbed/${prefix}/`)) out.push('UTS namespace mounts');
  if (existsSync(`/run/isoscope-testbed/${prefix}`)) out.push(`/run/isoscope-testbed/${prefix}`);
  if (existsSync(dir)) out.push(`directory ${dir}`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(dir) && Number(pid) !== process.pid) out.push(`process ${pid}: ${cmd.trim()}`);
    } catch { /* gone meanwhile */ }
  }
  return out;
}
