/**
 * `transport: local`: commands run on this machine through child_process (argv, no shell). Each
 * command is the leader of its own process group, so abort and timeout kill it with everything it
 * started (mpirun's ranks, stress-ng's workers): SIGTERM to the group, SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { ExecAbortedError, ExecTimeoutError } from './errors.js';
import { LineCollector } from './lines.js';
import { checkEnvNames } from './quote.js';
import type { ExecOptions, ExecResult, NodeTransport } from './transport.js';

export interface LocalTransportOptions {
  /** Node name used in records. */
  node: string;
  /** Time between SIGTERM and SIGKILL when a command is stopped. @default 2000 */
  killGraceMs?: number;
}

export class LocalTransport implements NodeTransport {
  readonly node: string;
  private readonly killGraceMs: number;
  private readonly running = new Set<number>();

  constructor(options: LocalTransportOptions) {
    this.node = options.node;
    this.killGraceMs = options.killGraceMs ?? 2000;
  }

  async start(): Promise<void> {}

  /** Kills the process groups of commands still running. */
  async shutdown(): Promise<void> {
    for (const pid of this.running) killGroup(pid, 'SIGKILL');
    this.running.clear();
  }

  connectUnix(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => { socket.removeAllListeners('error'); resolve(socket); });
      socket.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`node ${this.node}: cannot connect to ${path}: ${e.code ?? e.message}`)));
    });
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    checkEnvNames(options.env);
    const [program, ...args] = argv;
    if (!program) return Promise.reject(new Error(`node ${this.node}: cannot run an empty argv`));
    if (options.signal?.aborted) return Promise.reject(new ExecAbortedError(this.node, argv));
    return new Promise((resolve, reject) => {
      const child = spawn(program, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        detached: true, // own process group: kill(-pid) reaches the whole tree
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out = new LineCollector(options.onLine && ((l) => options.onLine!('stdout', l)));
      const err = new LineCollector(options.onLine && ((l) => options.onLine!('stderr', l)));
      let stopped: Error | null = null;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (reason: Error) => {
        if (stopped || child.pid === undefined) return;
        stopped = reason;
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), this.killGraceMs);
      };
      const onAbort = () => stop(new ExecAbortedError(this.node, argv));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = options.timeoutMs ? setTimeout(() => stop(new ExecTimeoutError(this.node, argv, options.timeoutMs!)), options.timeoutMs) : undefined;
      if (child.pid !== undefined) this.running.add(child.pid);

      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.stdin.on('error', () => {}); // a command that exits without reading stdin
      child.stdin.end(options.stdin ?? '');
      child.on('error', (e: NodeJS.ErrnoException) => {
        cleanup();
        reject(new Error(`node ${this.node}: cannot run ${JSON.stringify(program)}: ${e.code === 'ENOENT' ? 'no such executable (or cwd does not exist)' : e.message}`));
      });
      child.on('close', (code, signal) => {
        const pid = child.pid;
        cleanup();
        // Leftovers of the group (children that outlived the leader) go with it.
        if (stopped && pid !== undefined) killGroup(pid, 'SIGKILL');
        if (stopped) return reject(stopped);
        resolve({ code, signal, stdout: out.flush(), stderr: err.flush() });
      });
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        options.signal?.removeEventListener('abort', onAbort);
        if (child.pid !== undefined) this.running.delete(child.pid);
      };
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
