/**
 * `isoscope testbed status`: each node of the plan with its address, whether its namespace exists,
 * and whether its sshd answers: a real SSH login with the testbed key and a verified host key, which
 * runs `hostname` on the node (it must print the node's name, proving the UTS namespace too); and
 * whether the relays of `--forward` still run.
 */
import { existsSync } from 'node:fs';
import { SshTransport } from '../orchestrator/transport/ssh.js';
import { inventoryNodes } from './inventory.js';
import { readPlan, type TestbedPlan } from './plan.js';
import { alive } from './system.js';

export interface NodeStatus {
  name: string;
  address: string;
  netns: boolean;
  sshd: 'answers' | string;
}

export interface TestbedStatus {
  plan: TestbedPlan | null;
  nodes: NodeStatus[];
  /** The relays of `--forward` that are not running (by what they are). */
  relaysDown: string[];
  allUp: boolean;
}

export async function testbedStatus(dir: string): Promise<TestbedStatus> {
  const plan = readPlan(dir);
  if (!plan) return { plan: null, nodes: [], relaysDown: [], allUp: false };
  const inventory = plan.complete ? inventoryNodes(plan) : [];
  const nodes = await Promise.all(plan.nodes.map(async (n): Promise<NodeStatus> => {
    const netns = existsSync(`/run/netns/${n.netns}`);
    const inv = inventory.find((i) => i.name === n.name);
    if (!inv) return { name: n.name, address: n.address, netns, sshd: 'not set up (the testbed is half made)' };
    return { name: n.name, address: n.address, netns, sshd: await probe(inv) };
  }));
  const relaysDown = plan.resources.filter((r) => r.kind === 'process' && r.what.startsWith('relay') && !alive(r.pid, r.startTime)).map((r) => (r.kind === 'process' ? `${r.what} (pid ${r.pid})` : ''));
  return { plan, nodes, relaysDown, allUp: plan.complete && relaysDown.length === 0 && nodes.every((n) => n.netns && n.sshd === 'answers') };
}

async function probe(n: ReturnType<typeof inventoryNodes>[number]): Promise<string> {
  const t = new SshTransport({ node: n.name, host: n.host, port: n.port, user: n.user, privateKeyPath: n.key, knownHosts: n.knownHosts, connectTimeoutMs: 3000 });
  try {
    await t.start();
    const r = await t.exec(['hostname'], { timeoutMs: 5000 });
    if (r.code !== 0) return `hostname exited ${r.code}`;
    return r.stdout.trim() === n.name ? 'answers' : `answers as "${r.stdout.trim()}", not ${n.name}`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await t.shutdown().catch(() => undefined);
  }
}
