/**
 * The command line as researchers use it every day, through the compiled CLI with real pipes:
 * `| head -1` ends quietly, wrong command lines exit 2 and failures 1 without a stack trace
 * (--verbose / ISOSCOPE_DEBUG=1 show it), binary input is refused, SQL typos are syntax errors, CSV
 * writes empty fields, and `--ebpf` right after `npm install` builds the programs or names what is
 * missing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bpfCapability } from '../collectors/ebpf/kernel-gate.js';
import { loadBpfNative } from '../collectors/ebpf/native.js';
import { skipForMissingCapability } from '../collectors/perf/kernel-gate.js';
import { servicesEnv, testServices } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/isoscope.js');
const tempDir = tempDirs('isoscope-cli-');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded), with the given environment on top of this one's. */
function run(file: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: Buffer } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd ?? tempDir(), env: { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn', ISOSCOPE_DEBUG: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input);
  });
}

const isoscope = (args: string[], opts: Parameters<typeof run>[2] = {}) => run(process.execPath, [BIN, ...args], opts);
const STACK = /^\s+at /m;

/** A kernel log of `n` lines, large enough to fill a pipe many times over. */
function bigLog(dir: string, n = 20_000): string {
  const file = join(dir, 'dmesg.txt');
  writeFileSync(file, Array.from({ length: n }, (_, i) => `[ ${(i / 1000).toFixed(6)}] line ${i} of a long kernel log`).join('\n') + '\n');
  return file;
}

describe('output into a closed pipe ends quietly', () => {
  it('isoscope parse FILE | head -1: one line, exit status 0 through pipefail, nothing on stderr', async () => {
    const dir = tempDir();
    const file = bigLog(dir);
    const r = await run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" parse "${file}" 2>"${dir}/err" | head -1`], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'unparsed', message: 'line 0 of a long kernel log' });
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('');
  });

  it('isoscope sql --format csv … | head -1 on the embedded store', async () => {
    const dir = tempDir();
    const r = await run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" sql --store duckdb --limit 100000 --format csv "SELECT range AS n, 'padding padding padding' AS p FROM range(100000)" 2>"${dir}/err" | head -1`], { cwd: dir });
    expect(r.code, readFileSync(join(dir, 'err'), 'utf8')).toBe(0);
    expect(r.stdout).toBe('n,p\n');
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('');
  });
});

describe('errors: exit 2 for usage, 1 for failures, no stack trace unless asked', () => {
  it.each([
    [['sql', '--format', 'xml', 'SELECT 1'], /argument 'xml' is invalid\. expected one of table, json, csv/],
    [['nosuchcommand'], /unknown command 'nosuchcommand'/],
    [['sql'], /missing required argument 'statement'/],
    [['services', 'start', '--kafka-port', 'x'], /expected a port number/],
    [['collector', '--interval', 'soon'], /expected the interval as a duration/],
  ])('%j exits 2 with the reason and a hint', async (args, reason) => {
    const r = await isoscope(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toContain('(add --help for usage)');
    expect(r.stderr).not.toMatch(STACK);
  });

  it('an unknown eBPF program is named, with the known ones (exit 2, no stack trace)', async () => {
    const r = await isoscope(['collector', '--ebpf', 'nosuchprog', '--sink', 'stdout', '--count', '1']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^isoscope collector: unknown eBPF program "nosuchprog": the known programs are biolatency, irq, pagefault, runqlat, sched_switch/m);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
  });

  it.each([
    [['--verbose'], {}],
    [[], { ISOSCOPE_DEBUG: '1' }],
  ])('%j %j shows the stack trace', async (flag, env) => {
    const r = await isoscope([...flag, 'collector', '--ebpf', 'nosuchprog', '--sink', 'stdout', '--count', '1'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/UsageError: unknown eBPF program "nosuchprog"/);
    expect(r.stderr).toMatch(STACK);
  });

  it('help and --version exit 0', async () => {
    expect((await isoscope(['--version'])).code).toBe(0);
    const help = await isoscope(['sql', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: isoscope sql/);
  });
});

describe('isoscope parse refuses binary input', () => {
  it('an executable: exit 1, says it looks binary, prints no events', async () => {
    const dir = tempDir();
    const file = join(dir, 'node.bin');
    writeFileSync(file, readFileSync(process.execPath).subarray(0, 64 * 1024));
    const r = await isoscope(['parse', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^isoscope parse: ${file} looks binary, not a text log: \\d+ of its first 8192 bytes are control characters`));
    expect(r.stdout).toBe('');
  });

  it('a gzip-compressed log, also on standard input: says how to decompress it', async () => {
    const dir = tempDir();
    const gz = join(dir, 'dmesg.txt.gz');
    writeFileSync(gz, gzipSync(readFileSync(bigLog(dir, 100))));
    const byName = await isoscope(['parse', gz]);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain(`${gz} is gzip-compressed, not a text log; decompress it first, e.g. zcat ${gz} | isoscope parse -`);
    const piped = await isoscope(['parse', '-'], { input: readFileSync(gz) });
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain('standard input is gzip-compressed');
  });

  it('a text log with a stray NUL (serial consoles print them) is still parsed', async () => {
    const dir = tempDir();
    const file = join(dir, 'console.log');
    writeFileSync(file, 'Kitten boot\n\0[    0.000000] Linux version 6.1\nnext line\n');
    const r = await isoscope(['parse', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });
});

describe('isoscope parse: a Palacios Event Counters line without its block', () => {
  it.each(['auto', 'palacios'])('--source %s reads it as an event counter (a dump cut by a restart, a tail started mid-block)', async (source) => {
    const dir = tempDir();
    const file = join(dir, 'palacios.log');
    writeFileSync(file, 'V3> [vm0-0.1] \tCORE_SCHED_IN: 1042\nV3> [vm0-0.1] \tFPU_DEACTIVATE: 7\n');
    const r = await isoscope(['parse', '--source', source, file]);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toEqual([
      expect.objectContaining({ source: 'palacios', kind: 'event_counter', vm: 'vm0', vcore: 0, pcore: 1, fields: { counter: 'CORE_SCHED_IN', value: 1042 } }),
      expect.objectContaining({ source: 'palacios', kind: 'event_counter', fields: { counter: 'FPU_DEACTIVATE', value: 7 } }),
    ]);
  });
});

describe('isoscope sql', () => {
  it('reports SQL that does not parse as a syntax error (exit 1)', async () => {
    const r = await isoscope(['sql', '--store', 'duckdb', 'SELEC 1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('isoscope sql: the SQL does not parse: syntax error at or near "SELEC" (LINE 1: SELEC 1)\n');
  });

  it('says once that reading files is refused', async () => {
    const r = await isoscope(['sql', '--store', 'duckdb', "SELECT * FROM read_csv('/etc/passwd')"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^isoscope sql: reading or writing files, URLs or other databases from user SQL is refused \(Permission Error: [^()]*\)\n$/);
  });

  it('--format csv writes absent values as empty fields', async () => {
    const r = await isoscope(['sql', '--store', 'duckdb', '--format', 'csv', `SELECT 1 AS a, NULL AS b, 'x,y' AS c, '' AS d`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('a,b,c,d\n1,,"x,y",\n');
  });
});

describe('isoscope collector --ebpf right after npm install (no built programs)', () => {
  /** A copy of the installed package as `npm install` leaves it: dist/ built, collectors/ebpf/build/ absent. */
  function freshInstall(): string {
    const dir = tempDir('isoscope-fresh-');
    for (const p of ['package.json', 'bin', 'dist', 'collectors/ebpf/build.sh', 'collectors/ebpf/programs']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    expect(existsSync(join(dir, 'collectors/ebpf/build'))).toBe(false);
    return dir;
  }

  it('builds the programs on first use and collects', async (ctx) => {
    const cap = bpfCapability();
    if (!cap.ok) skipForMissingCapability(ctx.skip, cap.why);
    const pkg = freshInstall();
    const r = await run(process.execPath, [join(pkg, 'bin/isoscope.js'), 'collector', '--source', 'ebpf', '--ebpf', 'runqlat', '--sink', 'stdout', '--interval', '200ms', '--count', '2'], { env: { ISOSCOPE_LOG_LEVEL: 'info' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Building the eBPF programs on first use (runqlat not built yet)');
    expect(existsSync(join(pkg, 'collectors/ebpf/build/runqlat.bpf.o'))).toBe(true);
    expect(r.stdout.split('\n').some((l) => l.includes('"metric":"run_queue_latency_seconds"'))).toBe(true);
  });

  it('without clang says exactly that clang is missing and how to install it', async (ctx) => {
    const native = loadBpfNative();
    if (!native.ok) skipForMissingCapability(ctx.skip, native.reason);
    const pkg = freshInstall();
    // A PATH with what build.sh uses, except clang.
    const path = join(pkg, 'path');
    mkdirSync(path);
    for (const tool of ['bash', 'mkdir', 'cp', 'mv', 'find', 'basename', 'dirname', 'uname', 'bpftool']) {
      const found = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, tool)).find(existsSync);
      if (found) symlinkSync(found, join(path, tool));
    }
    const r = await run(process.execPath, [join(pkg, 'bin/isoscope.js'), 'collector', '--source', 'ebpf', '--ebpf', 'runqlat', '--sink', 'stdout', '--count', '1'], { env: { PATH: path } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^isoscope collector: the eBPF program runqlat is not built, and building it here failed: clang is needed to compile the BPF programs \(apt-get install clang\)/m);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('log lines: short text on a terminal, JSON otherwise', () => {
  const ingest = ['ingest', '--exit-when-idle', '--bus', 'embedded', '--store', 'duckdb', '--metrics-listen', 'off'];

  it('not a terminal: JSON lines on stderr, the command\'s result alone on stdout', async () => {
    const r = await isoscope(ingest, { env: { ISOSCOPE_LOG_LEVEL: 'info' } });
    expect(r.code, r.stderr).toBe(0);
    const logs = r.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(logs.map((l) => JSON.parse(l) as { msg: string }).some((l) => l.msg === 'Ingest is consuming.')).toBe(true);
    expect(r.stdout).toMatch(/^ingested 0 messages/);
  });

  /** Runs isoscope on a pseudo-terminal (util-linux `script`), returning what the terminal showed. */
  const onTerminal = (args: string[], env: Record<string, string>) =>
    run('script', ['-qec', [process.execPath, BIN, ...args].join(' '), '/dev/null'], { env: { ISOSCOPE_LOG_LEVEL: 'info', ...env } });

  it('on a terminal: one short line per log record, no JSON', async () => {
    const r = await onTerminal(ingest, {});
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  ingest: Ingest is consuming\. topics=\["samples",/m);
    expect(r.stdout).not.toContain('{"level"');
  });

  it('on a terminal with --log-format json (or log.format: json): JSON', async () => {
    const r = await onTerminal(['--log-format', 'json', ...ingest], {});
    expect(r.stdout).toContain('"msg":"Ingest is consuming."');
    const viaEnv = await onTerminal(ingest, { ISOSCOPE_LOG_FORMAT: 'json' });
    expect(viaEnv.stdout).toContain('"msg":"Ingest is consuming."');
  });

  it('the Kafka producer starts without the idempotent-producer retry warning', async () => {
    const s = testServices();
    const r = await isoscope(['collector', '--sink', 'kafka', '--source', 'procfs', '--interval', '100ms', '--count', '1'], { env: { ...servicesEnv(s), ISOSCOPE_LOG_LEVEL: 'info' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sent 1 batches/);
    expect(r.stderr).not.toMatch(/Limiting retries|EoS/);
  });
});

describe('isoscope ingest when its metrics port is taken', () => {
  const base = ['ingest', '--exit-when-idle', '--bus', 'embedded', '--store', 'duckdb'];

  it('names the setting to change (ingest.metricsListen, collector.metricsListen), exit 1, no stack trace', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const taken = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const viaConfig = await isoscope(base, { env: { ISOSCOPE_INGEST_METRICS_LISTEN: taken } });
      expect(viaConfig.code).toBe(1);
      expect(viaConfig.stderr).toContain(`isoscope ingest: the ingest metrics address ${taken} is already in use (another isoscope ingest on this machine?); it comes from ingest.metricsListen (config file, or ISOSCOPE_INGEST_METRICS_LISTEN): set it to a free host:port, to 127.0.0.1:0 for any free port (the address is printed at start), or to off`);
      expect(viaConfig.stderr).not.toMatch(STACK);
      const viaFlag = await isoscope([...base, '--metrics-listen', taken]);
      expect(viaFlag.code).toBe(1);
      expect(viaFlag.stderr).toContain(`${taken} is already in use (another isoscope ingest on this machine?); it comes from --metrics-listen`);
      const collector = await isoscope(['collector', '--sink', 'stdout', '--source', 'procfs', '--count', '1'], { env: { ISOSCOPE_COLLECTOR_METRICS_LISTEN: taken } });
      expect(collector.code).toBe(1);
      expect(collector.stderr).toContain(`isoscope collector: the collector metrics address ${taken} is already in use (another isoscope collector on this machine?); it comes from collector.metricsListen (config file, or ISOSCOPE_COLLECTOR_METRICS_LISTEN)`);
    } finally {
      server.close();
    }
  });

  it('127.0.0.1:0 picks a free port and prints it', async () => {
    const r = await isoscope([...base, '--metrics-listen', '127.0.0.1:0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^ingest metrics on http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
  });
});

describe('stopping with a signal', () => {
  /** Starts `file args`, waits for `ready` on its output, sends SIGINT to that pid, and times the exit. */
  async function interrupt(file: string, args: string[], cwd: string, env: Record<string, string>, ready: RegExp) {
    const child = spawn(file, args, { cwd, env: { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!ready.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out, `never printed ${ready} within 60 s; output so far:\n${out}`).toMatch(ready);
    const t0 = Date.now();
    process.kill(child.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    return { code, seconds: (Date.now() - t0) / 1000, out };
  }

  it('kill -INT to the pid of `npm start` reaches isoscope up, which stops cleanly and says so', async () => {
    const dir = tempDir();
    const env = { ISOSCOPE_DATA_DIR: join(dir, 'data'), ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_QUERY_LISTEN: '127.0.0.1:0' };
    const r = await interrupt('npm', ['start'], ROOT, env, /stop with Ctrl-C/);
    expect(r.code, r.out).toBe(0);
    expect(r.seconds, r.out).toBeLessThan(10);
    expect(r.out, r.out).toMatch(/SIGINT received: stopping[\s\S]*\nstopped cleanly in \d+\.\d s\n/);
    expect(existsSync(join(dir, 'state', 'up.json')), `up.json left behind; output:\n${r.out}`).toBe(false);
  });

  it('the collector says when its stop is finished', async () => {
    const dir = tempDir();
    const r = await interrupt(process.execPath, [BIN, 'collector', '--sink', 'embedded', '--source', 'procfs', '--interval', '200ms'], dir, {}, /running every 200 ms/);
    expect(r.code, r.out).toBe(0);
    expect(r.out, r.out).toMatch(/sent \d+ batches[^\n]*\nstopped cleanly in \d+\.\d s\n$/);
  });
});
