/**
 * `isoscope testbed up --nodes 3` through the compiled CLI: an SSH command on every node (host key
 * verified, its own host name and address, the cgroup hierarchies visible), node-to-node SSH as
 * mpirun uses it, a host service reached through the relays, then `down` leaves nothing behind; and
 * the same after an `up` that failed halfway (a link with a node's interface name already existed).
 * Needs root.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../orchestrator/transport/ssh.js';
import type { InventoryNode } from './inventory.js';
import { expandCpuList } from '../core/cpu-list.js';
import { hostCpus, rotatedShares } from '../orchestrator/node-cpus.js';
import { isoscope, leftovers } from './testing.js';

const root = process.getuid?.() === 0;
const PREFIX = 'tbt';
const SUBNET = '198.18.216.0/24';
const HALF = 'tbu'; // the half-failed testbed: its own names and subnet, so a failure above cannot mask it
const HALF_SUBNET = '198.18.217.0/24';
const base = mkdtempSync(join(tmpdir(), 'isoscope-testbed-'));
afterAll(async () => {
  await isoscope(['testbed', 'down', '--dir', join(base, 'a')]);
  await isoscope(['testbed', 'down', '--dir', join(base, 'b')]);
  try { execFileSync('ip', ['link', 'delete', `ve-${HALF}3`], { stdio: 'ignore' }); } catch { /* not there */ }
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!root)('isoscope testbed (needs root: network namespaces)', () => {
  it('up --nodes 3: SSH on every node, node to node, a relayed host port; down leaves nothing', async () => {
    const dir = join(base, 'a');
    const service = await echoServer();
    const port = (service.address() as { port: number }).port;
    const other = await echoServer(); // two ports: each relay listens on both and must say so once
    const port2 = (other.address() as { port: number }).port;
    try {
      const up = await isoscope(['testbed', 'up', '--nodes', '3', '--dir', dir, '--prefix', PREFIX, '--subnet', SUBNET, '--forward', `${port},${port2}`, '--no-services']);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`${PREFIX}3 198.18.216.13 up`);
      const status = await isoscope(['testbed', 'status', '--dir', dir]);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      expect(status.stdout.trim().split('\n')).toEqual([1, 2, 3].map((i) => `${PREFIX}${i} 198.18.216.1${i} netns up`));
      const second = await isoscope(['testbed', 'up', '--nodes', '1', '--dir', dir, '--prefix', PREFIX, '--subnet', SUBNET]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`a testbed is up in ${dir}`);

      const nodes = (parse(readFileSync(join(dir, 'inventory.yaml'), 'utf8')) as { nodes: InventoryNode[] }).nodes;
      expect(nodes.map((n) => n.name)).toEqual([`${PREFIX}1`, `${PREFIX}2`, `${PREFIX}3`]);
      // Every node stands for all of this machine's CPUs, rotated: its CPU 0 differs from its neighbour's.
      const online = expandCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
      expect(nodes.map((n) => n.cpus)).toEqual(rotatedShares(online, 3));
      if (online.length > 1) expect(hostCpus(nodes[1]!.cpus, '0')).not.toBe(hostCpus(nodes[0]!.cpus, '0'));
      for (const n of nodes) {
        const t = new SshTransport({ node: n.name, host: n.host, port: n.port, user: n.user, privateKeyPath: n.key, knownHosts: n.knownHosts });
        await t.start();
        try {
          const r = await t.exec(['sh', '-c', 'hostname; ip -o -4 addr show dev eth0; ip route; test -d /sys/fs/cgroup/cpuset/isoscope -o -f /sys/fs/cgroup/cpuset/cgroup.procs && echo cgroups-visible']);
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toContain(`${n.name}\n`);
          expect(r.stdout).toContain(`inet ${n.host}/24`);
          expect(r.stdout).not.toContain('default'); // no route out
          expect(r.stdout).toContain('cgroups-visible');
          // The relay: 127.0.0.1:<port> inside the node is the host's 127.0.0.1:<port>.
          for (const p of [port, port2]) {
            const relayed = await t.exec([process.execPath, '-e', `const s=require('net').connect(${p},'127.0.0.1',()=>s.end('ping ${n.name}'));s.pipe(process.stdout)`], { timeoutMs: 10_000 });
            expect(relayed.stdout).toBe(`echo: ping ${n.name}`);
          }
        } finally {
          await t.shutdown();
        }
      }
      // Node to node with the testbed's ssh_config, the way mpirun's rsh agent (set by sshd) does it.
      const first = nodes[0]!;
      const t = new SshTransport({ node: first.name, host: first.host, user: first.user, privateKeyPath: first.key, knownHosts: first.knownHosts });
      await t.start();
      const hop = await t.exec(['sh', '-c', '$OMPI_MCA_plm_rsh_agent "$1" hostname', 'hop', nodes[2]!.host], { timeoutMs: 20_000 });
      await t.shutdown();
      expect(hop.stdout.trim(), hop.stderr).toBe(`${PREFIX}3`);

      const down = await isoscope(['testbed', 'down', '--dir', dir]);
      expect(down.code, down.stderr).toBe(0);
      expect(await leftovers(PREFIX, dir)).toEqual([]);
      const again = await isoscope(['testbed', 'down', '--dir', dir]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('no testbed in');
    } finally {
      service.close();
      other.close();
    }
  });

  it('down cleans up after an up that failed halfway, and keeps what was not its own', async () => {
    const dir = join(base, 'b');
    execFileSync('ip', ['link', 'add', `ve-${HALF}3`, 'type', 'bridge']); // someone else's link, with node 3's name
    try {
      const up = await isoscope(['testbed', 'up', '--nodes', '3', '--dir', dir, '--prefix', HALF, '--subnet', HALF_SUBNET, '--no-services']);
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(new RegExp(`node ${HALF}3: creating its veth pair: .*ve-${HALF}3.*failed`));
      expect(up.stderr).not.toMatch(/\n\s+at /); // no stack trace
      const status = await isoscope(['testbed', 'status', '--dir', dir]);
      expect(status.code).toBe(1);
      expect(status.stdout).toContain('half made');
      expect((await leftovers(HALF, dir)).length).toBeGreaterThan(3); // sshd, namespaces, links of nodes 1 and 2

      const down = await isoscope(['testbed', 'down', '--dir', dir]);
      expect(down.code, down.stderr).toBe(0);
      expect(await leftovers(HALF, dir)).toEqual([`link ve-${HALF}3`]);
    } finally {
      execFileSync('ip', ['link', 'delete', `ve-${HALF}3`]);
    }
    expect(await leftovers(HALF, dir)).toEqual([]);
  });

  it('refuses bad options with a message', async () => {
    const bad = await isoscope(['testbed', 'up', '--nodes', '2', '--dir', join(base, 'c'), '--subnet', '10.0.0.1/24']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--subnet: 10.0.0.1/24 has host bits set');
    const prefix = await isoscope(['testbed', 'up', '--dir', join(base, 'c'), '--prefix', 'Bad-']);
    expect(prefix.stderr).toContain('--prefix: expected 1 to 8 lower-case letters');
  });
});

describe.runIf(!root)('isoscope testbed without root', () => {
  it('says it needs root', async () => {
    const r = await isoscope(['testbed', 'up', '--dir', join(base, 'x')]);
    console.log('testbed tests skipped: they need root (network namespaces, veth links, sshd on port 22)');
    expect(r.stderr).toContain('needs root');
  });
});

function echoServer(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((c) => c.once('data', (d) => c.end(`echo: ${d.toString()}`)));
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}
