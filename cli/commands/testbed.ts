// `isoscope testbed up|down|status`: network-namespace nodes on this machine (testbed/). Results go to
// stdout as plain lines, progress to stderr; user errors are one message, exit code 1.
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { testbedUp } from '../../testbed/up.js';
import { testbedDown } from '../../testbed/down.js';
import { testbedStatus } from '../../testbed/status.js';
import { DEFAULT_PREFIX } from '../../testbed/names.js';
import { DEFAULT_SUBNET } from '../../testbed/subnet.js';
import { INVENTORY_FILE } from '../../testbed/inventory.js';
import { positiveInt } from '../options.js';
import { DEFAULT_STATE_DIR, readServicesState } from '../../services/state.js';

export const DEFAULT_TESTBED_DIR = '.isoscope/testbed';

function ports(value: string): number[] {
  const list = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (!list.length || list.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535)) throw new InvalidArgumentError(`expected a comma-separated list of ports like 39092,39000, got "${value}"`);
  return [...new Set(list.map(Number))];
}

const dirOption = ['--dir <dir>', 'directory of the testbed\'s plan, keys, known_hosts and inventory', DEFAULT_TESTBED_DIR] as const;
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Every testbed failure is operational (a system command refused, root missing): its message says it all. */
function reportFailure(command: string, err: unknown): void {
  process.stderr.write(`isoscope ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

export function testbedCommand(): Command {
  const testbed = new Command('testbed').description('nodes as network namespaces on this machine, each with its own address and sshd (root; see testbed/README.md)');

  testbed.command('up')
    .description('create N nodes (network namespace, veth on a bridge without uplink, own host name, sshd with its own host key), a key pair, known_hosts and an inventory for experiments')
    .option('--nodes <n>', 'how many nodes', positiveInt('the node count'), 2)
    .option(...dirOption)
    .option('--subnet <cidr>', 'IPv4 subnet of the bridge and the nodes (bridge .1, node i .10+i)', DEFAULT_SUBNET)
    .option('--prefix <name>', 'prefix of node and interface names (nodes <prefix>1…)', DEFAULT_PREFIX)
    .option('--forward <ports>', 'host loopback ports (e.g. Kafka, QuestDB, `isoscope up`) to relay to the nodes: at the bridge address, and at 127.0.0.1 inside every node', ports)
    .option('--services-dir <dir>', 'relay the ports of the `isoscope services` recorded here too, when they run (collectors on the nodes reach Kafka at the same address as the orchestrator)', DEFAULT_STATE_DIR)
    .option('--no-services', 'do not relay the running services\' ports')
    .action(async (f: { nodes: number; dir: string; subnet: string; prefix: string; forward?: number[]; servicesDir: string; services: boolean }) => {
      try {
        const forward = new Set(f.forward ?? []);
        const services = f.services ? readServicesState(f.servicesDir) : null;
        if (services) {
          const addresses = [...services.kafka.brokers, services.questdb.http, services.questdb.pg, services.questdb.ilpTcp];
          for (const a of addresses) forward.add(Number(a.split(':')[1]));
          progress(`relaying the services of ${f.servicesDir} to the nodes: ${addresses.join(', ')}`);
        }
        const plan = await testbedUp({ nodes: f.nodes, dir: f.dir, subnet: f.subnet, prefix: f.prefix, forward: [...forward], log: progress });
        for (const n of plan.nodes) process.stdout.write(`${n.name} ${n.address} up\n`);
        process.stdout.write(`inventory ${resolve(plan.dir, INVENTORY_FILE)}\n`);
        process.stdout.write(`ssh -F ${resolve(plan.dir, 'ssh_config')} ${plan.nodes[0]!.address} hostname\n`);
      } catch (err) {
        reportFailure('testbed up', err);
        process.stderr.write(`what was made is recorded in ${resolve(f.dir, 'testbed.json')}; \`isoscope testbed down --dir ${f.dir}\` removes it\n`);
      }
    });

  testbed.command('down')
    .description('stop every process in the nodes and remove everything `up` made (namespaces, links, processes, files); idempotent')
    .option(...dirOption)
    .action(async (f: { dir: string }) => {
      try {
        const r = await testbedDown(resolve(f.dir), progress);
        process.stdout.write(r.found ? `testbed in ${resolve(f.dir)} removed (${r.removed.length} resources)\n` : `no testbed in ${resolve(f.dir)}\n`);
      } catch (err) {
        reportFailure('testbed down', err);
      }
    });

  testbed.command('status')
    .description('list the nodes and whether their sshd answers (a real SSH login, host key verified); exit code 0 if all do')
    .option(...dirOption)
    .option('--json', 'print JSON')
    .action(async (f: { dir: string; json?: boolean }) => {
      try {
        const s = await testbedStatus(resolve(f.dir));
        if (f.json) process.stdout.write(`${JSON.stringify({ dir: resolve(f.dir), complete: s.plan?.complete ?? false, subnet: s.plan?.subnet, nodes: s.nodes, relaysDown: s.relaysDown })}\n`);
        else if (!s.plan) process.stdout.write(`no testbed in ${resolve(f.dir)}; run \`isoscope testbed up\`\n`);
        else {
          if (!s.plan.complete) process.stdout.write(`the testbed in ${s.plan.dir} is half made; \`isoscope testbed down\` removes it\n`);
          for (const n of s.nodes) process.stdout.write(`${n.name} ${n.address} ${n.netns ? 'netns' : 'no-netns'} ${n.sshd === 'answers' ? 'up' : `down (${n.sshd})`}\n`);
          for (const r of s.relaysDown) process.stdout.write(`${r} is not running: the forwarded ports are not reachable from the nodes\n`);
        }
        process.exitCode = s.allUp ? 0 : 1;
      } catch (err) {
        reportFailure('testbed status', err);
      }
    });
  return testbed;
}
