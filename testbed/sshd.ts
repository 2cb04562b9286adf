/**
 * A node's sshd: its own host key and configuration in `<dir>/nodes/<node>/`, listening on the node's
 * address, port 22, inside the node's network and UTS namespaces. It is started with `nsenter --net`
 * rather than `ip netns exec`, which would remount /sys for the namespace and hide the cgroup
 * hierarchies the partition drivers work in. Sessions get `OMPI_MCA_plm_rsh_agent`, so mpirun on a
 * node reaches the other nodes with the testbed's key and known_hosts (root's ~/.ssh is left alone).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, processStartTime, sleep } from './system.js';

export const SSHD = '/usr/sbin/sshd';

export interface NodeSshdPaths {
  hostKey: string;
  config: string;
  log: string;
}

export function sshdPaths(nodeDir: string): NodeSshdPaths {
  return { hostKey: join(nodeDir, 'ssh_host_ed25519_key'), config: join(nodeDir, 'sshd_config'), log: join(nodeDir, 'sshd.log') };
}

/** What differs between the sshds isoscope starts (testbed nodes, test servers); the rest is fixed. */
export interface SshdConfigOptions {
  header?: string;
  port: number;
  address: string;
  hostKey: string;
  pidFile: string;
  authorizedKeys: string;
  maxSessions: number;
  extra?: string[];
}

/**
 * An sshd_config for a key-only server owned by isoscope: no passwords, PAM or DNS, root allowed with
 * a key (the drivers need root), StrictModes off because the key files live in isoscope's own
 * directories rather than a home directory.
 */
export function sshdConfig(o: SshdConfigOptions): string {
  return [
    ...(o.header === undefined ? [] : [`# ${o.header}`]),
    `Port ${o.port}`,
    `ListenAddress ${o.address}`,
    `HostKey ${o.hostKey}`,
    `PidFile ${o.pidFile}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'StrictModes no',
    'UsePAM no',
    `MaxSessions ${o.maxSessions}`,
    `MaxStartups ${o.maxSessions}`,
    'LogLevel ERROR',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'PermitUserEnvironment no',
    ...(o.extra ?? []),
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

export async function writeSshdConfig(nodeDir: string, address: string, testbedDir: string): Promise<NodeSshdPaths> {
  const p = sshdPaths(nodeDir);
  await must('generating the node\'s host key', ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `isoscope-testbed ${address}`, '-f', p.hostKey]);
  writeFileSync(p.config, sshdConfig({
    header: 'written by `isoscope testbed up`',
    port: 22,
    address,
    hostKey: p.hostKey,
    pidFile: join(nodeDir, 'sshd.pid'),
    authorizedKeys: join(testbedDir, 'authorized_keys'),
    maxSessions: 100,
    // mpirun reaches the other nodes with the testbed's key and host keys; ranks yield the cpu while
    // they wait, since the nodes share this machine's cpus (Open MPI cannot see that across "hosts").
    extra: [`SetEnv "OMPI_MCA_plm_rsh_agent=ssh -F ${join(testbedDir, 'ssh_config')}" OMPI_MCA_mpi_yield_when_idle=1`],
  }));
  return p;
}

/** Starts sshd in the node's namespaces; resolves with its pid and start time once spawned. */
export async function startSshd(netnsPath: string, utsPath: string, p: NodeSshdPaths): Promise<{ pid: number; startTime: string }> {
  await must('creating sshd\'s privilege separation directory', ['mkdir', '-p', '/run/sshd']);
  const child = spawn('nsenter', [`--net=${netnsPath}`, `--uts=${utsPath}`, SSHD, '-D', '-e', '-f', p.config, '-E', p.log], { stdio: 'ignore', detached: true });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start sshd: ${err.message}`)));
    child.once('spawn', () => resolve(child.pid!));
  });
  child.unref();
  const startTime = processStartTime(pid);
  if (startTime === null) throw new Error(`sshd exited at once: ${readSshdLog(p.log)}`);
  return { pid, startTime };
}

/** Waits until something accepts TCP connections on address:port (the host reaches the nodes through the bridge). */
export async function waitForListen(address: string, port: number, gone: () => boolean, log: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new Error(`sshd on ${address} exited at start-up: ${readSshdLog(log)}`);
    const ok = await new Promise<boolean>((r) => {
      const c = connect({ host: address, port, timeout: 1000 }, () => { c.end(); r(true); });
      c.once('error', () => r(false));
      c.once('timeout', () => { c.destroy(); r(false); });
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${address}:${port} after ${timeoutMs / 1000} s: ${readSshdLog(log)}`);
    await sleep(50);
  }
}

function readSshdLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim() || '(empty log)';
  } catch {
    return '(no log)';
  }
}
