/**
 * A real OpenSSH server for tests: `/usr/sbin/sshd -D -f <generated config>` on 127.0.0.1 and a free
 * port, with a fresh host key and a client key (ssh-keygen). Two of them are two nodes. Runs as the
 * current user (root is fine: PermitRootLogin prohibit-password, StrictModes no).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshTransportOptions } from '../orchestrator/transport/ssh.js';
import { sshdConfig, waitForListen } from '../testbed/sshd.js';

export interface TestSshd {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA…`, the line an experiment gives as the node's known_hosts. */
  knownHostsLine: string;
  /** The server's own directory (config, keys, log). */
  dir: string;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-sshd-'));
  chmodSync(dir, 0o755);
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  chmodSync(authorized, 0o600);
  const port = await freePort();
  const user = userInfo().username;
  const config = join(dir, 'sshd_config');
  writeFileSync(config, sshdConfig({
    port,
    address: '127.0.0.1',
    hostKey,
    pidFile: join(dir, 'sshd.pid'),
    authorizedKeys: authorized,
    maxSessions: 50,
  }));
  execFileSync('mkdir', ['-p', '/run/sshd']); // privilege separation directory sshd insists on
  const log = join(dir, 'sshd.log');
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config, '-E', log], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => { exited = true; });
  await waitForListen('127.0.0.1', port, () => exited, log);
  const pubHost = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  return {
    host: '127.0.0.1',
    port,
    user,
    privateKeyPath: clientKey,
    knownHostsLine: `[127.0.0.1]:${port} ${pubHost[0]} ${pubHost[1]}`,
    dir,
    async stop() {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Options for an SshTransport to this server as node `node` (its key, its host key). */
export function sshTransportOptions(sshd: TestSshd, node: string, extra: Partial<SshTransportOptions> = {}): SshTransportOptions {
  return { node, host: sshd.host, port: sshd.port, user: sshd.user, privateKeyPath: sshd.privateKeyPath, knownHosts: sshd.knownHostsLine, ...extra };
}

/**
 * One `nodes:` entry of an experiment file (YAML flow mapping) reaching this server over SSH;
 * `extra` is appended inside the braces (e.g. `collector: { command: [...] }`).
 */
export function sshNodeYaml(name: string, sshd: TestSshd, extra?: string): string {
  const base = `name: ${name}, transport: ssh, host: ${sshd.host}, port: ${sshd.port}, user: ${sshd.user}, key: ${sshd.privateKeyPath}, knownHosts: "${sshd.knownHostsLine}"`;
  return `{ ${base}${extra === undefined ? '' : `, ${extra}`} }`;
}
