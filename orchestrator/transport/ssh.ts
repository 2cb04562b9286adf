/**
 * `transport: ssh`: commands run on a node over SSH (ssh2), with a private key or the SSH agent. The
 * host key is always verified against the experiment's known_hosts entry; a mismatch refuses the
 * connection with both fingerprints in the message. Commands travel as one POSIX-quoted line
 * (quote.ts). The remote shell reports its pid (= process group, sshd starts each session with
 * setsid) before it execs the command, so abort and timeout kill the whole remote group.
 */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { ExecAbortedError, ExecTimeoutError } from './errors.js';
import { fingerprint, namesHost, parseKnownHost, type KnownHost } from './known-hosts.js';
import { LineCollector } from './lines.js';
import { checkEnvNames, quoteArg, quoteArgv } from './quote.js';
import type { ExecOptions, ExecResult, NodeTransport } from './transport.js';

export interface SshTransportOptions {
  node: string;
  host: string;
  /** @default 22 */
  port?: number;
  user: string;
  /** Path of a private key file; without it the SSH agent ($SSH_AUTH_SOCK) is used. */
  privateKeyPath?: string;
  /** Passphrase of the key, if it has one (never logged). */
  passphrase?: string;
  /** The node's known_hosts line; the server's key must match it. */
  knownHosts: string;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when a command is stopped. @default 2000 */
  killGraceMs?: number;
}

const PID_MARK = '__isoscope_pid ';

export class SshTransport implements NodeTransport {
  readonly node: string;
  private readonly where: string;
  private readonly known: KnownHost;
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;

  constructor(private readonly options: SshTransportOptions) {
    this.node = options.node;
    this.where = `${options.user}@${options.host}:${options.port ?? 22}`;
    try {
      this.known = parseKnownHost(options.knownHosts);
    } catch (err) {
      throw new Error(`node ${this.node}: ${(err as Error).message}`);
    }
  }

  async start(): Promise<void> {
    await this.connection();
  }

  async shutdown(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.connecting = null;
    c?.end();
  }

  private connection(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().then(
      (c) => {
        this.client = c;
        this.connecting = null;
        c.on('close', () => {
          if (this.client === c) this.client = null;
        });
        return c;
      },
      (err: unknown) => {
        this.connecting = null;
        throw err;
      },
    );
    return this.connecting;
  }

  private connect(): Promise<Client> {
    const { host, port = 22, user } = this.options;
    let hostKeyProblem: string | null = null;
    const config: ConnectConfig = {
      host,
      port,
      username: user,
      readyTimeout: this.options.connectTimeoutMs ?? 10_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        hostKeyProblem = this.checkHostKey(key);
        return hostKeyProblem === null;
      },
    };
    if (this.options.privateKeyPath) {
      try {
        config.privateKey = readFileSync(this.options.privateKeyPath);
      } catch (err) {
        return Promise.reject(new Error(`node ${this.node} (${this.where}): cannot read the private key ${this.options.privateKeyPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      }
      if (this.options.passphrase) config.passphrase = this.options.passphrase;
    } else if (process.env.SSH_AUTH_SOCK) {
      config.agent = process.env.SSH_AUTH_SOCK;
    } else {
      return Promise.reject(new Error(`node ${this.node} (${this.where}): no private key configured and no SSH agent ($SSH_AUTH_SOCK is not set)`));
    }
    return new Promise((resolve, reject) => {
      const client = new Client();
      client.once('ready', () => resolve(client));
      client.once('error', (err: Error & { level?: string }) => {
        client.end();
        const reason = hostKeyProblem ?? (err.level === 'client-authentication' ? `authentication as ${user} failed (key or agent refused)` : err.message);
        reject(new Error(`node ${this.node} (${this.where}): cannot connect: ${reason}`));
      });
      client.connect(config);
    });
  }

  /** null when the key is the known one, else why not. */
  private checkHostKey(key: Buffer): string | null {
    const { host, port = 22 } = this.options;
    if (!namesHost(this.known, host, port)) {
      return `host key verification failed: the known_hosts entry does not name ${port === 22 ? host : `[${host}]:${port}`} (it names ${this.known.patterns.join(',')})`;
    }
    if (!key.equals(this.known.key)) {
      const type = key.length >= 4 ? key.subarray(4, 4 + key.readUInt32BE(0)).toString('latin1') : '?';
      return `host key verification failed: the server presented ${type} ${fingerprint(key)}, but the experiment's known_hosts entry expects ${this.known.keyType} ${fingerprint(this.known.key)} (possible man-in-the-middle, or the node was reinstalled)`;
    }
    return null;
  }

  /** A streamlocal forward to a Unix socket on the node (sshd's AllowStreamLocalForwarding, on by default). */
  async connectUnix(path: string): Promise<Duplex> {
    const client = await this.connection();
    return new Promise((resolve, reject) => {
      client.openssh_forwardOutStreamLocal(path, (err, channel) => {
        if (err) reject(new Error(`node ${this.node} (${this.where}): cannot connect to ${path}: ${err.message}`));
        else resolve(channel);
      });
    });
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    checkEnvNames(options.env);
    if (options.signal?.aborted) throw new ExecAbortedError(this.node, argv);
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const command = [
      `printf '${PID_MARK}%s\\n' "$$" >&2`,
      `${options.cwd ? `cd ${quoteArg(options.cwd)} && ` : ''}exec ${env.length ? `env ${quoteArgv(env)} ` : ''}${quoteArgv(argv)}`,
    ].join('; ');
    const client = await this.connection();
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      client.exec(command, (err, ch) => (err ? reject(new Error(`node ${this.node} (${this.where}): cannot start ${JSON.stringify(argv[0])}: ${err.message}`)) : resolve(ch)));
    });
    return this.follow(stream, argv, options);
  }

  private follow(stream: ClientChannel, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      let pid: number | null = null;
      let stopped: Error | null = null;
      const out = new LineCollector(options.onLine && ((l) => options.onLine!('stdout', l)));
      const err = new LineCollector((l) => {
        if (pid === null && l.startsWith(PID_MARK)) pid = Number(l.slice(PID_MARK.length));
        else options.onLine?.('stderr', l);
      });
      const stop = (reason: Error) => {
        if (stopped) return;
        stopped = reason;
        void this.killRemote(pid, stream);
      };
      const onAbort = () => stop(new ExecAbortedError(this.node, argv));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = options.timeoutMs ? setTimeout(() => stop(new ExecTimeoutError(this.node, argv, options.timeoutMs!)), options.timeoutMs) : undefined;
      stream.on('data', (c: Buffer) => out.push(c));
      stream.stderr.on('data', (c: Buffer) => err.push(c));
      stream.end(options.stdin ?? '');
      let exit: { code: number | null; signal: string | null } | null = null;
      stream.on('exit', (code: number | null, signal?: string) => {
        exit = { code: signal ? null : code, signal: signal ?? null };
      });
      stream.on('close', () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const stderr = err.flush().split('\n').filter((l) => !l.startsWith(PID_MARK)).join('\n');
        if (stopped) return reject(stopped);
        if (!exit) return reject(new Error(`node ${this.node} (${this.where}): the connection closed while ${JSON.stringify(argv[0])} was running`));
        const { code, signal } = exit;
        resolve({ code, signal, stdout: out.flush(), stderr });
      });
    });
  }

  /** SIGTERM to the remote process group, SIGKILL after the grace period, then closes the channel. */
  private async killRemote(pid: number | null, stream: ClientChannel): Promise<void> {
    const grace = this.options.killGraceMs ?? 2000;
    if (pid !== null && Number.isInteger(pid) && pid > 1) {
      const group = `-${pid}`;
      await this.exec(['sh', '-c', `kill -TERM "$1" 2>/dev/null; i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt ${Math.ceil(grace / 100)} ]; do sleep 0.1; i=$((i+1)); done; kill -KILL "$1" 2>/dev/null; true`, 'kill', group]).catch(() => {});
    } else {
      stream.signal('KILL');
    }
    stream.close();
  }
}
