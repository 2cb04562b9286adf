/**
 * Starts the relays of `--forward`: one on the host (bridge address → 127.0.0.1) and one inside every
 * node (127.0.0.1 → bridge address, entered with `nsenter --net`), each confirmed listening before
 * `up` goes on.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Resource, TestbedPlan } from './plan.js';
import { processStartTime } from './system.js';

const RELAY = fileURLToPath(new URL('./relay.js', import.meta.url));

export async function startRelays(plan: TestbedPlan, made: (r: Resource) => void): Promise<void> {
  const ports = plan.forward.map(String);
  const host = await startRelay([], plan.bridge.address, '127.0.0.1', ports, 'relay on the host');
  made(host);
  for (const n of plan.nodes) made(await startRelay([`--net=/run/netns/${n.netns}`], '127.0.0.1', plan.bridge.address, ports, `relay in node ${n.name}`));
}

async function startRelay(nsenter: string[], listen: string, target: string, ports: string[], what: string): Promise<Resource & { kind: 'process' }> {
  const argv = [...(nsenter.length ? ['nsenter', ...nsenter] : []), process.execPath, RELAY, listen, target, ...ports];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the ${what} did not start listening within 10 s: ${stderr.trim()}`)); }, 10_000);
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) { clearTimeout(timer); resolve(); } });
    child.once('error', (err) => { clearTimeout(timer); reject(new Error(`cannot start the ${what}: ${err.message}`)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the ${what} exited with code ${code}: ${stderr.trim()}`)); });
  });
  child.stdout!.destroy();
  child.stderr!.destroy();
  child.removeAllListeners('exit');
  child.unref();
  const startTime = processStartTime(child.pid!);
  if (startTime === null) throw new Error(`the ${what} exited at once`);
  return { kind: 'process', pid: child.pid!, startTime, what };
}
