/**
 * The system calls of the testbed: commands run as argv (never through a shell), processes told apart
 * from a later process with the same pid by their start time, and stopped with TERM then KILL.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { UserError } from '../core/errors.js';

const execFileP = promisify(execFile);

export interface CommandResult { code: number; stdout: string; stderr: string }

/** Runs argv; resolves with the exit code (never rejects for a non-zero exit). */
export async function run(argv: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
  try {
    const r = await execFileP(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code === 'string') throw new Error(`cannot run ${argv[0]}: ${e.code}`);
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

/** Runs argv and throws `what: <argv>: <stderr>` unless it exits 0. */
export async function must(what: string, argv: readonly string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${what}: \`${argv.join(' ')}\` failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null when the pid is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields after it follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True while the process with this pid and start time exists (and is not a zombie). */
export function alive(pid: number, startTime: string): boolean {
  if (processStartTime(pid) !== startTime) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Stops a process: SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
export async function stopProcess(pid: number, startTime: string, graceMs = 2000): Promise<void> {
  const signal = (s: NodeJS.Signals) => { try { process.kill(pid, s); } catch { /* already gone */ } };
  if (!alive(pid, startTime)) return;
  signal('SIGTERM');
  const end = Date.now() + graceMs;
  while (alive(pid, startTime) && Date.now() < end) await sleep(50);
  if (!alive(pid, startTime)) return;
  signal('SIGKILL');
  const hard = Date.now() + 5000;
  while (alive(pid, startTime)) {
    if (Date.now() > hard) throw new Error(`process ${pid} did not exit after SIGKILL`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new UserError(`testbed ${command} needs root: it creates network namespaces, veth links and bridges, and starts sshd on port 22 inside them (run it with sudo)`);
  }
}
