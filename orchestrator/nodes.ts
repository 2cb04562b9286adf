/**
 * The experiment's nodes as connected transports: built from the node entries, connected on first
 * use, reconnected on the next use after a failure (a node that comes back serves later runs), and
 * asked once for their kernel version (provenance).
 */
import { LocalTransport } from './transport/local.js';
import { SshTransport } from './transport/ssh.js';
import type { NodeTransport } from './transport/transport.js';
import type { NodeSpecification } from './experiment/schema.js';

export class Nodes {
  private readonly transports = new Map<string, NodeTransport>();
  private readonly connected = new Set<string>();
  private readonly kernels = new Map<string, string>();

  constructor(private readonly specs: readonly NodeSpecification[], private readonly connectTimeoutMs = 10_000) {}

  /** Every node of the experiment, by name. */
  get names(): string[] {
    return this.specs.map((n) => n.name);
  }

  spec(name: string): NodeSpecification {
    const s = this.specs.find((n) => n.name === name);
    if (!s) throw new Error(`no node "${name}" in the experiment`);
    return s;
  }

  /** The connected transport of a node; rejects with the connection error (naming node and address). */
  async get(name: string): Promise<NodeTransport> {
    let t = this.transports.get(name);
    if (!t) {
      t = build(this.spec(name), this.connectTimeoutMs);
      this.transports.set(name, t);
    }
    if (!this.connected.has(name)) {
      await t.start();
      this.connected.add(name);
    }
    return t;
  }

  /** `uname -r` of the node (cached). */
  async kernel(name: string): Promise<string> {
    const cached = this.kernels.get(name);
    if (cached) return cached;
    const r = await (await this.get(name)).exec(['uname', '-r'], { timeoutMs: 30_000 });
    const v = r.code === 0 ? r.stdout.trim() : `unknown (uname -r: exit ${r.code})`;
    this.kernels.set(name, v);
    return v;
  }

  /** Host name mpirun uses for the node. */
  mpiHost(name: string): string {
    const s = this.spec(name);
    return s.transport === 'local' ? 'localhost' : s.mpiHost ?? s.host;
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.shutdown().catch(() => undefined)));
    this.transports.clear();
    this.connected.clear();
  }
}

function build(s: NodeSpecification, connectTimeoutMs: number): NodeTransport {
  if (s.transport === 'local') return new LocalTransport({ node: s.name });
  return new SshTransport({
    node: s.name,
    host: s.host,
    port: s.port,
    user: s.user,
    ...(s.key ? { privateKeyPath: s.key } : {}),
    knownHosts: s.knownHosts,
    connectTimeoutMs,
  });
}
