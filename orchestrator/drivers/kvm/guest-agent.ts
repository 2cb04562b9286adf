/**
 * The guest agent: a small program that runs inside a `kvm` partition's guest and executes commands
 * for the orchestrator over a virtio-serial port. It is shipped into the guest's initramfs as the text
 * of {@link guestAgentProgram} and started by the guest's init with the host's node (the host root
 * is the guest's root, shared read-only), so it may use node's built-in modules only.
 *
 * Protocol: JSON lines both ways. Host → guest: `{t:"exec",id,argv,cwd?,env?,stdin?}`,
 * `{t:"kill",id,signal}`, `{t:"ping",id}`. Guest → host: `{t:"ready"}` when it starts,
 * `{t:"pong",id}`, `{t:"out",id,stream,data}` (base64 chunks), `{t:"exit",id,code,signal}`,
 * `{t:"error",id,message}` when a command could not start. Each command leads its own process group,
 * so a kill reaches everything it started.
 */

/** Messages the host sends. */
export type HostMessage =
  | { t: 'exec'; id: number; argv: string[]; cwd?: string; env?: Record<string, string>; stdin?: string }
  | { t: 'kill'; id: number; signal: 'SIGTERM' | 'SIGKILL' }
  | { t: 'ping'; id: number };

/** Messages the guest sends. */
export type GuestMessage =
  | { t: 'ready'; pid: number }
  | { t: 'pong'; id: number }
  | { t: 'out'; id: number; stream: 'stdout' | 'stderr'; data: string }
  | { t: 'exit'; id: number; code: number | null; signal: string | null }
  | { t: 'error'; id: number; message: string };

/**
 * The agent itself. It is serialised with `Function.prototype.toString` and run as a CommonJS file in
 * the guest, so it references nothing outside its body except `req` (the guest's `require`).
 * @param portPath the virtio-serial port device, e.g. /dev/vport1p1
 */
export function guestAgent(req: (id: string) => unknown, portPath: string): void {
  const fs = req('node:fs') as typeof import('node:fs');
  const cp = req('node:child_process') as typeof import('node:child_process');
  const { StringDecoder } = req('node:string_decoder') as typeof import('node:string_decoder');
  const decoder = new StringDecoder('utf8');
  const fd = fs.openSync(portPath, 'r+');
  const queue: string[] = [];
  let writing = false;
  const flush = (): void => {
    if (writing || !queue.length) return;
    writing = true;
    const buf = Buffer.from(queue.splice(0, queue.length).join(''));
    fs.write(fd, buf, 0, buf.length, null, (err) => {
      writing = false;
      if (err) process.stderr.write(`isoscope agent: write failed: ${err.message}\n`);
      flush();
    });
  };
  const send = (m: GuestMessage): void => {
    queue.push(JSON.stringify(m) + '\n');
    flush();
  };
  const children = new Map<number, import('node:child_process').ChildProcess>();
  const handle = (m: HostMessage): void => {
    if (m.t === 'ping') return send({ t: 'pong', id: m.id });
    if (m.t === 'kill') {
      const c = children.get(m.id);
      if (c?.pid !== undefined) {
        try { process.kill(-c.pid, m.signal); } catch { /* already gone */ }
      }
      return;
    }
    if (m.t !== 'exec') return;
    const [program, ...args] = m.argv;
    if (!program) return send({ t: 'error', id: m.id, message: 'empty argv' });
    if (m.cwd !== undefined && !fs.existsSync(m.cwd)) return send({ t: 'error', id: m.id, message: `working directory ${m.cwd} does not exist in the guest` });
    const child = cp.spawn(program, args, { cwd: m.cwd ?? '/tmp', env: { ...process.env, ...m.env }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    children.set(m.id, child);
    let failed = false;
    child.on('error', (e: NodeJS.ErrnoException) => {
      failed = true;
      children.delete(m.id);
      send({ t: 'error', id: m.id, message: `cannot run ${JSON.stringify(program)} in the guest: ${e.code === 'ENOENT' ? 'no such executable' : e.message}` });
    });
    child.stdout!.on('data', (c: Buffer) => send({ t: 'out', id: m.id, stream: 'stdout', data: c.toString('base64') }));
    child.stderr!.on('data', (c: Buffer) => send({ t: 'out', id: m.id, stream: 'stderr', data: c.toString('base64') }));
    child.stdin!.on('error', () => {});
    child.stdin!.end(m.stdin ?? '');
    child.on('close', (code, signal) => {
      children.delete(m.id);
      // Leftovers of the group (children that outlived the leader) go with it.
      if (child.pid !== undefined) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none */ } }
      if (!failed) send({ t: 'exit', id: m.id, code, signal });
    });
  };
  let pending = '';
  const read = (): void => {
    const buf = Buffer.alloc(65536);
    fs.read(fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        // EAGAIN-like hiccups while the host is not connected: try again shortly.
        setTimeout(read, 200);
        return;
      }
      pending += decoder.write(buf.subarray(0, n));
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          handle(JSON.parse(line) as HostMessage);
        } catch (e) {
          process.stderr.write(`isoscope agent: bad message ${line.slice(0, 200)}: ${(e as Error).message}\n`);
        }
      }
      if (n === 0) setTimeout(read, 100);
      else read();
    });
  };
  send({ t: 'ready', pid: process.pid });
  read();
}

/** The agent as a CommonJS program: `node agent.cjs <port device>`. */
export function guestAgentProgram(): string {
  return `'use strict';\n// isoscope guest agent (generated from orchestrator/drivers/kvm/guest-agent.ts)\n(${guestAgent.toString()})(require, process.argv[2]);\n`;
}
