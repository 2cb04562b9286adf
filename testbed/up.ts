/**
 * `isoscope testbed up`: N nodes on this machine, each a network namespace (own stack, address and
 * sshd) with its own host name (UTS namespace), joined by a bridge through veth pairs. The bridge
 * has no uplink and the namespaces no default route. Every resource goes into the plan
 * (plan.ts) as soon as it exists, so `down` removes exactly what was made, also after a failure.
 */
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { bridgeName, checkPrefix, MAX_NODES, netnsName, nodeName, utsDir, vethName, DEFAULT_PREFIX } from './names.js';
import { readPlan, writePlan, type Resource, type TestbedPlan } from './plan.js';
import { DEFAULT_SUBNET, parseSubnet } from './subnet.js';
import { must, alive, requireRoot, run } from './system.js';
import { startSshd, waitForListen, writeSshdConfig } from './sshd.js';
import { writeClientFiles } from './inventory.js';
import { startRelays } from './relay-start.js';

export interface UpOptions {
  nodes: number;
  /** Directory for the plan, keys, known_hosts, inventory. */
  dir: string;
  /** @default 198.18.213.0/24 */
  subnet?: string;
  /** @default tb */
  prefix?: string;
  /** Host loopback ports to make reachable from the nodes (at the bridge address, and at 127.0.0.1 inside each node). */
  forward?: number[];
  log?: (line: string) => void;
}

export async function testbedUp(o: UpOptions): Promise<TestbedPlan> {
  requireRoot('up');
  const log = o.log ?? (() => undefined);
  const prefix = checkPrefix(o.prefix ?? DEFAULT_PREFIX);
  const subnet = parseSubnet(o.subnet ?? DEFAULT_SUBNET);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > Math.min(MAX_NODES, subnet.capacity)) {
    throw new UserError(`--nodes: expected 1 to ${Math.min(MAX_NODES, subnet.capacity)} nodes, got ${o.nodes}`);
  }
  const dir = resolve(o.dir);
  if (/[\s"'\\]/.test(dir)) throw new UserError(`--dir: the testbed directory ${JSON.stringify(dir)} must not contain white space, quotes or backslashes (it is written into sshd and ssh configurations)`);
  const existing = readPlan(dir);
  if (existing) throw new UserError(`a testbed ${existing.complete ? 'is up' : 'was half made'} in ${dir} (nodes ${existing.nodes.map((n) => n.name).join(', ') || 'none yet'}): run \`isoscope testbed down --dir ${dir}\` first`);
  await checkSubnetFree(subnet.cidr, subnet.contains);

  const plan: TestbedPlan = {
    version: 1, prefix, subnet: subnet.cidr, dir,
    bridge: { name: bridgeName(prefix), address: subnet.bridge },
    forward: o.forward ?? [], nodes: [], complete: false, resources: [],
  };
  const made = (r: Resource) => { plan.resources.push(r); writePlan(plan); };

  // The directory (or, in an existing one, each entry we add) is ours to remove.
  const dirExisted = existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (!dirExisted) made({ kind: 'dir', path: dir }); else writePlan(plan);
  const own = (path: string) => { if (dirExisted) made({ kind: 'dir', path }); };

  const keyFile = join(dir, 'id_ed25519');
  own(keyFile); own(`${keyFile}.pub`);
  await must('generating the orchestrator key pair', ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'isoscope-testbed orchestrator', '-f', keyFile]);
  own(join(dir, 'authorized_keys'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`), { mode: 0o600 });
  const nodesDir = join(dir, 'nodes');
  own(nodesDir);
  mkdirSync(nodesDir, { recursive: true });
  const uts = utsDir(prefix);
  for (const d of [dirname(uts), uts]) {
    if (existsSync(d)) continue;
    mkdirSync(d);
    made({ kind: 'dir', path: d });
  }

  log(`bridge ${plan.bridge.name} ${subnet.bridge}/${subnet.prefixLength} (no uplink)`);
  await must('creating the bridge', ['ip', 'link', 'add', plan.bridge.name, 'type', 'bridge']);
  made({ kind: 'bridge', name: plan.bridge.name });
  await must('addressing the bridge', ['ip', 'addr', 'add', `${subnet.bridge}/${subnet.prefixLength}`, 'dev', plan.bridge.name]);
  await must('bringing the bridge up', ['ip', 'link', 'set', plan.bridge.name, 'up']);

  const sshds: { node: string; address: string; pid: number; startTime: string; log: string }[] = [];
  for (let i = 1; i <= o.nodes; i++) {
    const name = nodeName(prefix, i);
    const node = { name, netns: netnsName(name), veth: vethName(name), address: subnet.node(i), uts: join(uts, name), dir: join(nodesDir, name) };
    plan.nodes.push(node);
    writePlan(plan);
    log(`node ${name} ${node.address} (netns ${node.netns})`);
    await must(`node ${name}: creating its network namespace`, ['ip', 'netns', 'add', node.netns]);
    made({ kind: 'netns', name: node.netns });
    await must(`node ${name}: creating its veth pair`, ['ip', 'link', 'add', node.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns]);
    made({ kind: 'veth', name: node.veth });
    await must(`node ${name}: attaching its veth to the bridge`, ['ip', 'link', 'set', node.veth, 'master', plan.bridge.name, 'up']);
    await must(`node ${name}: addressing eth0`, ['ip', '-n', node.netns, 'addr', 'add', `${node.address}/${subnet.prefixLength}`, 'dev', 'eth0']);
    await must(`node ${name}: bringing eth0 up`, ['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up']);
    await must(`node ${name}: bringing lo up`, ['ip', '-n', node.netns, 'link', 'set', 'lo', 'up']);
    writeFileSync(node.uts, '');
    await must(`node ${name}: creating its UTS namespace`, ['unshare', `--uts=${node.uts}`, 'hostname', name]);
    made({ kind: 'uts', path: node.uts });
    mkdirSync(node.dir, { recursive: true });
    const paths = await writeSshdConfig(node.dir, node.address, dir);
    const sshd = await startSshd(`/run/netns/${node.netns}`, node.uts, paths);
    made({ kind: 'process', pid: sshd.pid, startTime: sshd.startTime, what: `sshd of node ${name}` });
    sshds.push({ node: name, address: node.address, ...sshd, log: paths.log });
  }
  for (const s of sshds) await waitForListen(s.address, 22, () => !alive(s.pid, s.startTime), s.log);

  own(join(dir, 'known_hosts')); own(join(dir, 'ssh_config')); own(join(dir, 'inventory.yaml'));
  writeClientFiles(plan);
  if (plan.forward.length) {
    log(`relays for ports ${plan.forward.join(', ')}: ${subnet.bridge} on the host, 127.0.0.1 on every node`);
    await startRelays(plan, made);
  }
  plan.complete = true;
  writePlan(plan);
  return plan;
}

/** Refuses a subnet that overlaps an address this machine already has (the testbed would shadow it). */
async function checkSubnetFree(cidr: string, contains: (a: string) => boolean): Promise<void> {
  const r = await run(['ip', '-o', '-4', 'addr', 'show']);
  for (const line of r.stdout.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (m && contains(m[2]!)) throw new UserError(`--subnet ${cidr}: this machine already has ${m[2]} on ${m[1]} in that subnet (another testbed? \`isoscope testbed status\`); choose another with --subnet`);
  }
}

