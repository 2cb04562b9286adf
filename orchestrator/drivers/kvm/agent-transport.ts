/**
 * The host side of the guest agent (guest-agent.ts): a {@link NodeTransport} whose commands run inside
 * a `kvm` partition's guest. It holds the one connection QEMU's socket chardev allows and multiplexes
 * every command over it by id, so the workload and background workloads of a run share the VM. Abort
 * and timeout send SIGTERM to the command's process group in the guest, SIGKILL after a grace period.
 */
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ExecAbortedError, ExecTimeoutError } from '../../transport/errors.js';
import { LineCollector } from '../../transport/lines.js';
import { checkEnvNames } from '../../transport/quote.js';
import type { ExecOptions, ExecResult, NodeTransport } from '../../transport/transport.js';
import type { GuestMessage, HostMessage } from './guest-agent.js';

interface Pending {
  out: LineCollector;
  err: LineCollector;
  done: (m: GuestMessage & { t: 'exit' | 'error' }) => void;
}

export class AgentTransport implements NodeTransport {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pongs = new Map<number, () => void>();
  private closed: Error | null = null;

  /**
   * @param node name used in records (the node the VM runs on)
   * @param where "partition p on node n", for messages
   */
  constructor(readonly node: string, private readonly where: string, private readonly stream: Duplex, private readonly killGraceMs = 2000) {
    const decoder = new StringDecoder('utf8');
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += decoder.write(chunk);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        // The agent's port also carries whatever was written before it started; only JSON is ours.
        if (line.startsWith('{')) {
          try { this.receive(JSON.parse(line) as GuestMessage); } catch { /* a torn line from a previous connection */ }
        }
      }
    });
    const lost = () => this.fail(new Error(`${where}: the connection to the guest agent was lost (did the VM stop?)`));
    // Over SSH the forwarded channel reports the far end with 'end' and may stay half-open.
    stream.on('end', lost);
    stream.on('close', lost);
    stream.on('error', lost);
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.fail(new Error(`${this.where}: the guest agent connection was closed`));
    this.stream.destroy();
  }

  /** Resolves when the agent answers a ping; rejects after `timeoutMs`. */
  ping(timeoutMs: number): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pongs.delete(id); reject(new Error('no answer')); }, timeoutMs);
      this.pongs.set(id, () => { clearTimeout(timer); resolve(); });
      this.send({ t: 'ping', id });
    });
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    checkEnvNames(options.env);
    if (this.closed) return Promise.reject(this.closed);
    if (options.signal?.aborted) return Promise.reject(new ExecAbortedError(this.node, argv));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let stopped: Error | null = null;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (reason: Error) => {
        if (stopped) return;
        stopped = reason;
        this.send({ t: 'kill', id, signal: 'SIGTERM' });
        killTimer = setTimeout(() => this.send({ t: 'kill', id, signal: 'SIGKILL' }), this.killGraceMs);
      };
      const onAbort = () => stop(new ExecAbortedError(this.node, argv));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = options.timeoutMs ? setTimeout(() => stop(new ExecTimeoutError(this.node, argv, options.timeoutMs!)), options.timeoutMs) : undefined;
      const out = new LineCollector(options.onLine && ((l) => options.onLine!('stdout', l)));
      const err = new LineCollector(options.onLine && ((l) => options.onLine!('stderr', l)));
      this.pending.set(id, {
        out,
        err,
        done: (m) => {
          this.pending.delete(id);
          if (timer) clearTimeout(timer);
          if (killTimer) clearTimeout(killTimer);
          options.signal?.removeEventListener('abort', onAbort);
          const stdout = out.flush();
          const stderr = err.flush();
          if (stopped) return reject(stopped);
          if (m.t === 'error') return reject(new Error(`${this.where}: ${m.message}`));
          resolve({ code: m.code, signal: m.signal, stdout, stderr });
        },
      });
      this.send({ t: 'exec', id, argv: [...argv], ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.env ? { env: options.env } : {}), ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) });
    });
  }

  private send(m: HostMessage): void {
    if (!this.closed) this.stream.write(JSON.stringify(m) + '\n');
  }

  private receive(m: GuestMessage): void {
    if (m.t === 'pong') return this.pongs.get(m.id)?.();
    if (m.t === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.t === 'out') (m.stream === 'stdout' ? p.out : p.err).push(Buffer.from(m.data, 'base64'));
    else p.done(m);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const [, p] of this.pending) {
      p.out.flush();
      p.err.flush();
    }
    const waiting = [...this.pending.values()];
    this.pending.clear();
    // Commands in flight end with the connection: reject them as failed to run to completion.
    for (const p of waiting) p.done({ t: 'error', id: -1, message: err.message.replace(`${this.where}: `, '') });
  }
}
