/**
 * Housekeeping CPUs, for real: `isoscope collector --housekeeping-cpus` (and the config key) moves
 * every thread of the running collector, the native sampler thread included (started after the
 * move), and the kernel reports only those CPUs for each; a CPU the machine does not have is a
 * precise error. Runs the compiled CLI (npm test builds it first) as its own process, so this test
 * process' own affinity is left alone.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { expandCpuList, formatCpuList } from '../core/cpu-list.js';
import { configSchema } from '../config/schema.js';
import { threadCpus } from './housekeeping.js';

const run = promisify(execFile);
const BIN = new URL('../bin/isoscope.js', import.meta.url).pathname;
const online = expandCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
/** The CPUs this test process may use (a CI container's cpuset may allow fewer than are online). */
const allowed = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
/** The last CPU allowed: not the one every process starts on, where there are more. */
const target = expandCpuList(allowed).at(-1)!;
const cwd = mkdtempSync(join(tmpdir(), 'isoscope-housekeeping-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const env = { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn', ISOSCOPE_DATA_DIR: join(cwd, 'data') };

/** Starts a stdout collector, waits for its first batch, and returns each thread's name and CPUs while it runs. */
async function threadsOfRunningCollector(args: string[], extraEnv: Record<string, string> = {}): Promise<{ threads: { name: string; cpus: string }[]; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'collector', '--sink', 'stdout', '--source', 'procfs', '--interval', '100ms', '--duration', '20s', ...args], { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the collector exited (${code}) before its first batch: ${stderr}`)));
    });
    // The sampler thread starts with the agent; its first batch means it runs (the agent's mode is printed on stderr too).
    await new Promise((r) => setTimeout(r, 500));
    const threads = readdirSync(`/proc/${child.pid}/task`).map((tid) => ({
      name: readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim(),
      cpus: threadCpus(Number(tid), child.pid!),
    }));
    return { threads, stderr };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

describe('collector housekeeping CPUs', () => {
  it('--housekeeping-cpus moves every thread, the native sampler started later included', async () => {
    const { threads, stderr } = await threadsOfRunningCollector(['--housekeeping-cpus', String(target)]);
    expect(stderr).toMatch(new RegExp(`collector threads on CPU ${target} \\(--housekeeping-cpus: \\d+ threads moved\\)`));
    // Node's main thread, V8's and libuv's threads, and the sampler thread.
    expect(threads.length).toBeGreaterThanOrEqual(5);
    expect(threads.map((t) => t.name)).toContain('isoscope-sampl');
    for (const t of threads) expect(t, JSON.stringify(threads)).toEqual({ name: t.name, cpus: String(target) });
  }, 60_000);

  it('the config key does the same, and unset leaves the threads on every CPU', async () => {
    const pinned = await threadsOfRunningCollector([], { ISOSCOPE_COLLECTOR_HOUSEKEEPING_CPUS: String(target) });
    expect(pinned.stderr).toMatch(/\(collector\.housekeepingCpus: \d+ threads moved\)/);
    for (const t of pinned.threads) expect(t.cpus).toBe(String(target));
    if (expandCpuList(allowed).length < 2) return console.log(`skipped the "unset" half: this test may use one CPU only (${allowed}), so any CPU is that one`);
    const anywhere = await threadsOfRunningCollector([]);
    expect(anywhere.stderr).not.toMatch(/threads moved/);
    // Whatever this test process was allowed (taskset, a cpuset), the collector inherits.
    for (const t of anywhere.threads) expect(t.cpus).toBe(allowed);
  }, 60_000);

  it('a CPU the machine does not have is a precise error: usage (exit 2) as an option, configuration (exit 1) as the key', async () => {
    const absent = online.at(-1)! + 1;
    const onlineText = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    const asOption = await run(process.execPath, [BIN, 'collector', '--sink', 'stdout', '--source', 'procfs', '--count', '1', '--housekeeping-cpus', `0,${absent}`], { cwd, env }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(asOption?.code).toBe(2);
    expect(asOption?.stderr.trim()).toBe(`isoscope collector: --housekeeping-cpus: CPU ${absent} does not exist or is offline on this machine (online CPUs: ${onlineText})`);
    const asKey = await run(process.execPath, [BIN, 'collector', '--sink', 'stdout', '--source', 'procfs', '--count', '1'], { cwd, env: { ...env, ISOSCOPE_COLLECTOR_HOUSEKEEPING_CPUS: `${absent}-${absent + 2}` } }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(asKey?.code).toBe(1);
    expect(asKey?.stderr.trim()).toBe(`isoscope collector: collector.housekeepingCpus: CPU ${absent}-${absent + 2} do not exist or are offline on this machine (online CPUs: ${onlineText})`);
    const malformed = await run(process.execPath, [BIN, 'collector', '--sink', 'stdout', '--housekeeping-cpus', '1-x'], { cwd, env }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(malformed?.code).toBe(2);
    expect(malformed?.stderr).toContain(`option '--housekeeping-cpus <list>' argument '1-x' is invalid. "1-x": expected a Linux cpu list like "1" or "0,2-3"`);
  }, 60_000);

  it('CPUs outside the collector\'s cpuset are an error, not a silent intersection (a cgroup v1 cpuset of CPU 0)', async (ctx) => {
    const root = '/sys/fs/cgroup/cpuset';
    if (process.getuid?.() !== 0 || !existsSync(join(root, 'cpuset.cpus')) || online.length < 2 || !online.includes(0)) {
      console.log('skipped: needs root, a cgroup v1 cpuset hierarchy at /sys/fs/cgroup/cpuset and CPUs 0 and another online');
      return ctx.skip();
    }
    const group = join(root, `isoscope-housekeeping-${process.pid}`);
    mkdirSync(group);
    try {
      writeFileSync(join(group, 'cpuset.cpus'), '0');
      writeFileSync(join(group, 'cpuset.mems'), readFileSync(join(root, 'cpuset.mems'), 'utf8').trim());
      const other = online.find((c) => c !== 0)!;
      // The shell joins the cgroup, then becomes the collector; its arguments are argv words, not shell text.
      const inGroup = (cpus: string) => run('sh', ['-c', 'echo $$ > "$0" && exec "$@"', join(group, 'cgroup.procs'), process.execPath, BIN, 'collector', '--sink', 'stdout', '--source', 'procfs', '--count', '1', '--housekeeping-cpus', cpus], { cwd, env }).then(() => null, (e: { code: number; stderr: string }) => e);
      const outside = await inGroup(String(other));
      expect(outside?.code).toBe(2);
      expect(outside?.stderr.trim()).toBe(`isoscope collector: --housekeeping-cpus: the kernel refused CPU ${other} for this process (EINVAL): they are outside the CPUs its cgroup's cpuset allows (0)`);
      const partly = await inGroup(`0,${other}`);
      expect(partly?.code).toBe(2);
      expect(partly?.stderr.trim()).toMatch(new RegExp(`^isoscope collector: --housekeeping-cpus: thread \\d+ \\(.+\\) may run on CPU 0 after asking for ${formatCpuList([0, other])}: the process' cpuset allows only part of the list$`));
    } finally {
      rmdirSync(group);
    }
  }, 60_000);

  it('the schema takes a cpu list or a YAML number, and names a malformed or descending list', () => {
    const collector = (v: unknown) => configSchema.safeParse({ collector: { housekeepingCpus: v } });
    expect(collector(1).data?.collector.housekeepingCpus).toBe('1');
    expect(collector('0,2-3').data?.collector.housekeepingCpus).toBe('0,2-3');
    expect(collector(undefined).data?.collector.housekeepingCpus).toBeUndefined();
    expect(collector('one').error?.issues[0]).toMatchObject({ path: ['collector', 'housekeepingCpus'], message: 'expected a Linux cpu list like "1" or "0,2-3"' });
    expect(collector('3-1').error?.issues[0]?.message).toBe('expected ascending ranges of CPU numbers up to 65535, like "1" or "0,2-3"');
  });
});
