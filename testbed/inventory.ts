/**
 * What `up` hands to the orchestrator and to mpirun: `known_hosts` (every node's host key),
 * `ssh_config` (the testbed key and known_hosts, strict host key checking; mpirun's rsh agent on the
 * nodes), and `inventory.yaml`, which an experiment includes as its nodes (`nodes: { include: … }`),
 * with each node's share of this machine's CPUs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../collectors/ebpf/locate.js';
import { stringify } from 'yaml';
import { expandCpuList } from '../core/cpu-list.js';
import { rotatedShares } from '../orchestrator/node-cpus.js';
import type { TestbedPlan } from './plan.js';
import { sshdPaths } from './sshd.js';

export const INVENTORY_FILE = 'inventory.yaml';

export interface InventoryNode {
  name: string;
  transport: 'ssh';
  host: string;
  port: number;
  user: string;
  key: string;
  knownHosts: string;
  mpiHost: string;
  /**
   * The machine CPUs the node stands for, in the node's own numbering (orchestrator/node-cpus.ts):
   * every node gets all of them, rotated, so `cpus: "0"` in a partition is a different CPU on
   * neighbouring nodes, as it would be on separate machines.
   */
  cpus: string;
  /** How the orchestrator starts the node's collector: this isoscope (the nodes share its file system). */
  collector: { command: string[] };
}



/** The CPUs online on this machine (the nodes share them). */
function machineCpus(): number[] {
  return expandCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
}

export function inventoryNodes(plan: TestbedPlan): InventoryNode[] {
  const shares = rotatedShares(machineCpus(), plan.nodes.length);
  return plan.nodes.map((n, i) => {
    const [type, key] = readFileSync(`${sshdPaths(n.dir).hostKey}.pub`, 'utf8').trim().split(/\s+/);
    return { name: n.name, transport: 'ssh', host: n.address, port: 22, user: 'root', key: join(plan.dir, 'id_ed25519'), knownHosts: `${n.address} ${type} ${key}`, mpiHost: n.address, cpus: shares[i]!, collector: { command: [process.execPath, join(packageRoot(), 'bin', 'isoscope.js')] } };
  });
}

export function writeClientFiles(plan: TestbedPlan): void {
  const nodes = inventoryNodes(plan);
  writeFileSync(join(plan.dir, 'known_hosts'), nodes.map((n) => `${n.knownHosts}\n`).join(''), { mode: 0o644 });
  writeFileSync(join(plan.dir, 'ssh_config'), [
    '# written by `isoscope testbed up`: `ssh -F this-file <node address>` reaches a testbed node',
    'Host *',
    '  User root',
    `  IdentityFile ${join(plan.dir, 'id_ed25519')}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${join(plan.dir, 'known_hosts')}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ConnectTimeout 10',
    '',
  ].join('\n'));
  const header = [
    `# Testbed nodes written by \`isoscope testbed up\` (${plan.nodes.length} nodes, subnet ${plan.subnet}).`,
    '# Include them in an experiment with `nodes: { include: <this file> }`.',
    '',
  ].join('\n');
  writeFileSync(join(plan.dir, INVENTORY_FILE), header + stringify({ nodes }, { lineWidth: 0 }));
}
