/**
 * Test helpers for the deployment files: run a real tool and check that a command line a unit file or
 * a compose service runs is one the isoscope CLI accepts.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const BIN = new URL('../bin/isoscope.js', import.meta.url).pathname;

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; a missing tool is an error that says how to install it. */
export async function tool(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  try {
    const r = await run(file, args, { ...options, timeout: 60_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${file} is not installed; scripts/prerequisites.sh installs it`);
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/**
 * Checks an isoscope command line (without the program name): its subcommand path exists (`--help`
 * of it answers with that usage line) and every `--option` it passes is one that subcommand offers.
 * Returns the problems found, empty when the line is fine.
 */
export async function checkCommandLine(argv: string[]): Promise<string[]> {
  const path: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    path.push(a);
  }
  if (path.length === 0) return [`"${argv.join(' ')}" names no isoscope command`];
  // The longest prefix that is a command (`alerts run RULES` would take RULES for a subcommand).
  for (let n = path.length; n > 0; n--) {
    const r = await tool(process.execPath, [BIN, ...path.slice(0, n), '--help']);
    if (r.code !== 0 || !r.stdout.startsWith(`Usage: isoscope ${path.slice(0, n).join(' ')} `)) continue;
    const offered = new Set([...r.stdout.matchAll(/(?:^|[\s,])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]));
    const missing = argv.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!).filter((o) => !offered.has(o));
    return missing.map((o) => `isoscope ${path.slice(0, n).join(' ')} has no option ${o}`);
  }
  return [`isoscope has no command "${path.join(' ')}"`];
}

/** Stops the services a test started: SIGTERM, then SIGKILL for any still running after 10 s. */
export async function stopChildren(children: readonly { child: ChildProcess }[]): Promise<void> {
  await Promise.all(
    children.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }),
  );
}
