// Runs the service JVMs as detached process groups that outlive the `isoscope` command which started them,
// and finds and stops them again later from their pid alone. A process counts as ours only if its command
// line carries the markers we gave it, so a stale pid file never makes us signal somebody else's process.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MIN_JAVA_MAJOR } from './versions.js';

/** A start-up or shutdown failure whose message already says what went wrong and what to do about it. */
export class ServicesError extends Error {
  override name = 'ServicesError';
}

const JDK_HINT = 'install a JDK 17+, e.g. `apt-get install openjdk-17-jdk-headless`';

/** The `java` executable to run and its major version. */
export interface JavaRuntime {
  bin: string;
  major: number;
}

/**
 * Finds `java` (`$JAVA_HOME/bin/java` if JAVA_HOME is set, else `java` on PATH) and checks that it is at
 * least {@link MIN_JAVA_MAJOR}; throws a {@link ServicesError} saying how to install one otherwise.
 */
export async function findJava(): Promise<JavaRuntime> {
  const bin = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const where = process.env.JAVA_HOME ? `${bin} (from JAVA_HOME)` : '`java` on PATH';
  const res = await runCommand(bin, ['-version'], { timeoutMs: 30_000 });
  if (res.notFound) throw new ServicesError(`no Java runtime found: ${where} does not exist; ${JDK_HINT}`);
  const version = /version "([^"]+)"/.exec(res.output)?.[1];
  if (res.code !== 0 || version === undefined) {
    throw new ServicesError(`${where} did not report its version (exit ${res.code}): ${res.output.trim()}; ${JDK_HINT}`);
  }
  const parts = version.split(/[.+-]/).map(Number);
  const major = parts[0] === 1 ? (parts[1] ?? 0) : (parts[0] ?? 0);
  if (major < MIN_JAVA_MAJOR) {
    throw new ServicesError(`${where} is Java ${version}, but Kafka and QuestDB need Java ${MIN_JAVA_MAJOR}+; ${JDK_HINT}`);
  }
  return { bin, major };
}

/** What identifies one service process: its name and the absolute state directory it belongs to. */
export interface ServiceIdentity {
  /** `kafka` or `questdb`. */
  service: string;
  /** Absolute state directory; two pairs in two directories never touch each other. */
  stateDir: string;
}

/** JVM system properties that mark a process as ours; {@link isServiceProcess} looks for them. */
export function identityArgs(id: ServiceIdentity): string[] {
  return [`-Disoscope.service=${id.service}`, `-Disoscope.stateDir=${id.stateDir}`];
}

/** A service JVM that was just spawned. */
export interface SpawnedService {
  pid: number;
  child: ChildProcess;
  /** Settles when the process exits (it is also the process group id: the JVM leads its own group). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `java` detached in a new session/process group, with stdout and stderr appended to `logFile`,
 * and unreferenced so the calling command can exit while the service keeps running.
 * @example spawnService({ java: '/usr/bin/java', args: ['-version'], env: {}, cwd: '/tmp', logFile: '/tmp/x.log' })
 */
export function spawnService(opts: {
  java: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}): SpawnedService {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(opts.java, opts.args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    child.unref();
    if (child.pid === undefined) throw new ServicesError(`could not start ${opts.java}: no process was created`);
    return { pid: child.pid, child, exited };
  } finally {
    closeSync(fd);
  }
}

const activeCommands = new Set<ChildProcess>();

/** Kills every {@link runCommand} child still running (e.g. `mvn` when the user presses Ctrl-C). */
export function killActiveCommands(): void {
  for (const child of activeCommands) child.kill('SIGTERM');
}

/**
 * Runs a command to completion and returns its exit code and combined output (used for `mvn` and Kafka's
 * StorageTool). A missing executable gives code `null` and `notFound: true`.
 */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string; notFound: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
    });
    activeCommands.add(child);
    child.once('close', () => activeCommands.delete(child));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve({ code: null, output: String(err.message), notFound: err.code === 'ENOENT' }),
    );
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8'), notFound: false }));
  });
}

/** Process state from /proc: `null` if there is no such process or /proc cannot tell. */
function procStat(pid: number): { state: string; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

const hasProc = (() => {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
})();

/** True if a process with this pid exists and is not a zombie (`process.kill(pid, 0)` plus /proc). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!hasProc) return true;
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** Live (non-zombie) members of process group `pgid`; on systems without /proc, `[pgid]` if it exists. */
export function liveGroupMembers(pgid: number): number[] {
  if (!hasProc) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** True if `pid` is alive and is the JVM we started for `id` (its command line carries our markers). */
export function isServiceProcess(pid: number, id: ServiceIdentity): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return false;
  if (!hasProc) return true;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return identityArgs(id).every((marker) => argv.includes(marker));
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (liveGroupMembers(pgid).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/**
 * Stops the process group led by `pgid`: SIGTERM, wait up to `graceMs`, then SIGKILL and wait again.
 * Resolves with how it ended; throws a {@link ServicesError} if something of the group survives SIGKILL.
 * @default graceMs 20000
 */
export async function stopProcessGroup(pgid: number, graceMs = 20_000): Promise<'stopped' | 'killed'> {
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, graceMs)) return 'stopped';
  signalGroup(pgid, 'SIGKILL');
  if (await waitGroupGone(pgid, 5_000)) return 'killed';
  const left = liveGroupMembers(pgid).join(', ');
  throw new ServicesError(`process group ${pgid} did not exit even after SIGKILL (pids still alive: ${left})`);
}

/** The pid written in a pid file, or `null` if the file is missing or holds no pid. */
export function readPidFile(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** The last `n` lines of a text file, or a note that it could not be read. */
export function tailFile(path: string, n = 20): string {
  try {
    const lines = readFileSync(path, 'utf8').replace(/\n$/, '').split('\n');
    return lines.slice(-n).join('\n');
  } catch (err) {
    return `(could not read ${path}: ${(err as Error).message})`;
  }
}
