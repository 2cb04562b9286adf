/**
 * The palacios-vm driver against a real sshd on loopback whose node has Palacios's Linux tools and
 * the Pisces tools (the fakes in ../testdata/node-tools, which print what the real tools print and
 * keep the VMM's state in a directory): a VM in the Linux host, and one inside a Kitten enclave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshTransportOptions, startSshd, type TestSshd } from '../../../test/sshd.js';
import { tempDirs } from '../../../test/temp-dirs.js';
import { SshTransport } from '../../transport/ssh.js';
import type { DriverContext, PartitionSpec, PartitionState } from '../driver.js';
import { PiscesKittenDriver } from '../pisces-kitten/pisces-kitten.js';
import { makeFakeNode, PALACIOS_TOOLS, PISCES_TOOLS, rejection, type FakeNode } from '../testdata/node-tools/fake-node.js';
import { PalaciosVmDriver } from './palacios-vm.js';

const tempDir = tempDirs('isoscope-palacios-');
const driver = new PalaciosVmDriver();
const pisces = new PiscesKittenDriver();

describe.concurrent('palacios-vm driver over SSH', () => {
  let sshd: TestSshd;
  let node: SshTransport;
  beforeAll(async () => {
    sshd = await startSshd();
    node = new SshTransport(sshTransportOptions(sshd, 'n1', { killGraceMs: 300 }));
    await node.start();
  });
  afterAll(async () => {
    await node?.shutdown();
    await sshd?.stop();
  });

  const setup = (patch: Record<string, unknown> = {}, siblings = new Map<string, PartitionState>()) => {
    const fake = makeFakeNode(tempDir());
    const logs: string[] = [];
    const ctx: DriverContext = { experiment: 'driver-test', run: `driver-test.${process.pid}`, log: (m) => logs.push(m), siblings };
    const spec: PartitionSpec = {
      name: 'guest0',
      driver: 'palacios-vm',
      cpus: '5',
      memMb: 256,
      options: { image: fake.files.guestImage, toolsDir: PALACIOS_TOOLS, launcher: ['/bin/echo', 'in-guest', '{vm}', '{id}'], env: fake.env, ...patch },
    };
    return { fake, logs, ctx, spec };
  };
  const tools = (fake: FakeNode) => fake.calls().map((c) => c[0]);

  it('a VM in the Linux host: create, launch, wrap, destroy, destroy again', async () => {
    const { fake, ctx, spec, logs } = setup();
    const state = await driver.create(node, spec, ctx);
    expect(state).toMatchObject({ name: 'guest0', driver: 'palacios-vm', cpus: '5', memMb: 256, numa: null });
    expect(state.handle).toMatchObject({ host: 'linux', vmId: 0, vmName: 'guest0', device: '/dev/v3-vm0', parent: null });
    expect(fake.calls()).toEqual([
      ['v3_create', fake.files.guestImage, 'guest0'],
      ['v3_launch', '/dev/v3-vm0'],
    ]);
    expect(fake.state().hostVms).toEqual({ 0: { name: 'guest0', running: true } });
    expect(logs.at(-1)).toBe('Partition guest0: VM guest0 (id 0) runs in the Linux host.');

    const argv = driver.wrap(state, ['/bin/hostname', '-s']);
    expect(argv).toEqual(['/bin/echo', 'in-guest', 'guest0', '0', '/bin/hostname', '-s']);
    expect((await node.exec(argv)).stdout).toBe('in-guest guest0 0 /bin/hostname -s\n');

    await driver.destroy(node, state, ctx);
    expect(fake.calls().slice(2)).toEqual([['v3_stop', '/dev/v3-vm0'], ['v3_free', '0']]);
    expect(fake.state().hostVms).toEqual({});
    expect(logs.at(-1)).toBe('VM guest0 (id 0) on node n1 stopped and freed.');
    await driver.destroy(node, state, ctx);
    expect(logs.at(-1)).toBe('VM guest0 (id 0) on node n1 is already gone.');
  });

  it('builds the image from XML with config options (v3_create -b)', async () => {
    const { fake, ctx, spec } = setup();
    const state = await driver.create(node, { ...spec, options: { ...spec.options, image: fake.files.guestConfig, config: { mem: '256' } } }, ctx);
    expect(fake.calls()[0]).toEqual(['v3_create', '-b', fake.files.guestConfig, 'guest0', 'mem=256']);
    await driver.destroy(node, state, ctx);
    await expect(driver.create(node, { ...spec, options: { ...spec.options, image: fake.files.guestConfig, config: { vcpus: '2' } } }, ctx)).rejects.toThrow(
      /step "create VM" failed: v3_create reported "Could not find Config option \(vcpus\) in XML file"/,
    );
  });

  it('failures roll back in reverse order (host): create, then launch (which exits 0 on failure)', async () => {
    const { fake, ctx, spec } = setup();
    fake.setNode({ v3vee: false });
    await expect(driver.create(node, spec, ctx)).rejects.toThrow(
      'node n1: step "create VM" failed: v3_create reported "Error (-1) creating VM | Error opening V3Vee control device"; it printed: "Loading VM Image (img=' + fake.files.guestImage + ') (name=guest0) | Guest image Loaded (size=5) | Error (-1) creating VM | [stderr] Error opening V3Vee control device" (exit 255). Rollback: nothing to undo',
    );
    fake.setNode({ v3vee: true });
    fake.failNext('v3_launch', 'error');
    const err = await rejection(driver.create(node, spec, ctx));
    expect(err.message).toMatch(/^node n1: step "launch VM" failed: v3_launch reported "IOCTL error on device \/dev\/v3-vm0 \(-1\) \| Error launching VM \(\/dev\/v3-vm0\)".*\(exit 0\)\. Rollback: free VM 0 \(v3_free\)$/);
    expect(tools(fake)).toEqual(['v3_create', 'v3_create', 'v3_launch', 'v3_free']);
    expect(fake.state().hostVms).toEqual({});
  });

  it('a cancelled launch stops nothing it did not start and frees the VM', async () => {
    const { fake, ctx, spec } = setup();
    const ac = new AbortController();
    fake.failNext('v3_launch', 'hang');
    const p = rejection(driver.create(node, spec, { ...ctx, signal: ac.signal }));
    while (!tools(fake).includes('v3_launch')) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const err = await p;
    expect(err.name).toBe('AbortError');
    expect(err.message).toMatch(/was aborted.*Rollback: free VM 0 \(v3_free\)/);
    expect(tools(fake)).toEqual(['v3_create', 'v3_launch', 'v3_free']);
    expect(fake.state().hostVms).toEqual({});
  });

  it('a VM inside a Kitten enclave (parent): Pisces v3 tools on the enclave device, torn down before the enclave', async () => {
    const siblings = new Map<string, PartitionState>();
    const { fake, ctx, spec, logs } = setup({ toolsDir: '/nonexistent' }, siblings);
    const enclave = await pisces.create(node, { name: 'lwk', driver: 'pisces-kitten', cpus: '2-5', memMb: 512, options: { toolsDir: PISCES_TOOLS, kernel: fake.files.kernel, initrd: fake.files.initrd, procDir: fake.procDir, env: fake.env } }, ctx);
    siblings.set('lwk', enclave);
    const vmSpec = { ...spec, parent: 'lwk' };
    fake.failNext('v3_create', 'error');
    await expect(driver.create(node, vmSpec, ctx)).rejects.toThrow(/^node n1: step "create VM" failed: v3_create reported "Error: Could not create VM".*Rollback: nothing to undo$/);
    const before = fake.calls().length;
    fake.failNext('v3_launch', 'error');
    const err = await rejection(driver.create(node, vmSpec, ctx));
    expect(err.message).toMatch(/step "launch VM" failed: v3_launch reported "Error: Could not LAUNCH VM".*Rollback: free VM 0 \(v3_free\)$/);
    expect(fake.calls().slice(before)).toEqual([
      ['v3_create', fake.files.guestImage, 'guest0', '/dev/pisces-enclave0'],
      ['v3_launch', '/dev/pisces-enclave0', '0'],
      ['v3_free', '/dev/pisces-enclave0', '0'],
    ]);

    const vm = await driver.create(node, vmSpec, ctx);
    expect(vm.handle).toMatchObject({ host: 'enclave', vmId: 0, device: '/dev/pisces-enclave0', toolsDir: PISCES_TOOLS, parent: 'lwk' });
    expect(fake.state().enclaves['0']?.vms).toEqual({ 0: { name: 'guest0', running: true } });
    expect(logs.at(-1)).toBe('Partition guest0: VM guest0 (id 0) runs in enclave /dev/pisces-enclave0 (lwk).');

    await driver.destroy(node, vm, ctx);
    expect(fake.calls().slice(-2)).toEqual([['v3_stop', '/dev/pisces-enclave0', '0'], ['v3_free', '/dev/pisces-enclave0', '0']]);
    // Gone inside a live enclave: Kitten refuses both commands for an id it does not know.
    await driver.destroy(node, vm, ctx);
    expect(logs.at(-1)).toBe('VM guest0 (id 0) on node n1 is already gone.');

    // A VM whose enclave is gone is gone too.
    const vm2 = await driver.create(node, vmSpec, ctx);
    await pisces.destroy(node, enclave, ctx);
    await driver.destroy(node, vm2, ctx);
    expect(logs.at(-1)).toBe('VM guest0 (id 0) on node n1 is already gone.');
    expect(fake.state()).toMatchObject({ enclaves: {}, offlineCpus: [], offlineBlocks: [] });
  });

  it('refuses a parent that is missing, not an enclave, or too small, and options without a launcher', async () => {
    const cpuset: PartitionState = { name: 'box', node: 'n1', driver: 'linux-cpuset', cpus: '2-3', memMb: 0, numa: null, devices: [], handle: {} };
    const enclave: PartitionState = { name: 'lwk', node: 'n1', driver: 'pisces-kitten', cpus: '2-3', memMb: 128, numa: null, devices: [], handle: { enclaveId: 0, device: '/dev/pisces-enclave0', toolsDir: PISCES_TOOLS } };
    const { ctx, spec } = setup({}, new Map([['box', cpuset], ['lwk', enclave]]));
    await expect(driver.create(node, { ...spec, parent: 'nope' }, ctx)).rejects.toThrow('partition guest0 (palacios-vm): parent "nope" has not been created on node n1 (created here: box, lwk)');
    await expect(driver.create(node, { ...spec, parent: 'box' }, ctx)).rejects.toThrow('parent "box" is a linux-cpuset partition; a Palacios VM can only nest in a pisces-kitten enclave');
    await expect(driver.create(node, { ...spec, parent: 'lwk' }, ctx)).rejects.toThrow('CPUs 5 are not in parent enclave "lwk" (which has 2-3)');
    await expect(driver.create(node, { ...spec, cpus: '2', parent: 'lwk' }, ctx)).rejects.toThrow('256 MiB do not fit in parent enclave "lwk" (128 MiB)');
    const { launcher: _, ...noLauncher } = spec.options as Record<string, unknown>;
    await expect(driver.create(node, { ...spec, options: noLauncher }, ctx)).rejects.toThrow(/partition guest0 \(palacios-vm\): invalid options: options\.launcher: /);
  });
});
