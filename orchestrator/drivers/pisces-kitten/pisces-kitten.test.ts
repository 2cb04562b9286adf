/**
 * The pisces-kitten driver against a real sshd on loopback whose node has the Pisces tools (the
 * fake ones in ../testdata/node-tools/pisces, which print what the real tools print and keep the
 * enclave state in a directory). Each test gets its own node state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshTransportOptions, startSshd, type TestSshd } from '../../../test/sshd.js';
import { tempDirs } from '../../../test/temp-dirs.js';
import { LocalTransport } from '../../transport/local.js';
import { SshTransport } from '../../transport/ssh.js';
import type { DriverContext, PartitionSpec } from '../driver.js';
import { makeFakeNode, PISCES_TOOLS, rejection, type FakeNode } from '../testdata/node-tools/fake-node.js';
import { PiscesKittenDriver } from './pisces-kitten.js';

const tempDir = tempDirs('isoscope-pisces-');
const driver = new PiscesKittenDriver();

describe.concurrent('pisces-kitten driver over SSH', () => {
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

  const setup = (patch: Record<string, unknown> = {}) => {
    const fake = makeFakeNode(tempDir());
    const logs: string[] = [];
    const ctx: DriverContext = { experiment: 'driver-test', run: `driver-test.${process.pid}`, log: (m) => logs.push(m), siblings: new Map() };
    const spec: PartitionSpec = {
      name: 'lwk',
      driver: 'pisces-kitten',
      cpus: '2-4',
      memMb: 384,
      numa: '0',
      options: { toolsDir: PISCES_TOOLS, kernel: fake.files.kernel, initrd: fake.files.initrd, procDir: fake.procDir, env: fake.env, ...patch },
    };
    return { fake, logs, ctx, spec };
  };
  const tools = (fake: FakeNode) => fake.calls().map((c) => (c[0] === 'pisces_ctrl' ? `pisces_ctrl ${c[1]}` : c[0]));
  const clean = (fake: FakeNode) => {
    const s = fake.state();
    expect(s.enclaves).toEqual({});
    expect(s.offlineCpus).toEqual([]);
    expect(s.offlineBlocks).toEqual([]);
  };

  it('creates, wraps and destroys an enclave, each step confirmed from the tools\' output', async () => {
    const { fake, ctx, spec, logs } = setup({ job: { ranks: 2, heapMb: 64 } });
    const state = await driver.create(node, spec, ctx);
    expect(state).toMatchObject({ name: 'lwk', node: 'n1', driver: 'pisces-kitten', cpus: '2-4', memMb: 384, numa: '0', devices: [] });
    expect(state.handle).toMatchObject({ enclaveId: 0, device: '/dev/pisces-enclave0', toolsDir: PISCES_TOOLS });
    expect(fake.calls()).toEqual([
      ['pisces_load', fake.files.kernel, fake.files.initrd, 'console=pisces'],
      ['pisces_launch', '-c', '2', '-m', '1', '-n', '0', '/dev/pisces-enclave0'],
      ['pisces_ctrl', '-m', '2', '-n', '0', '/dev/pisces-enclave0'],
      ['pisces_ctrl', '--explicit', '--cpu=3,4', '/dev/pisces-enclave0'],
    ]);
    expect(fake.state().enclaves['0']).toMatchObject({ launched: true, cpus: [2, 3, 4], blocks: [4, 5, 6] });
    expect(logs.at(-1)).toBe('Partition lwk: enclave 0 runs Kitten on CPUs 2-4 with 3 memory blocks.');

    // The wrapped command goes to the enclave as a Kitten job, arguments intact.
    const argv = driver.wrap(state, ['/opt/hpcc/hpcc', '-n', '4', 'x;rm']);
    expect(argv).toEqual(['env', ...Object.entries(fake.env).map(([k, v]) => `${k}=${v}`), `${PISCES_TOOLS}/pisces_run`, '/dev/pisces-enclave0', '--np=2', '--heap_size=64', '--', '/opt/hpcc/hpcc', '-n', '4', 'x;rm']);
    const r = await node.exec(argv);
    expect(r.code).toBe(0);
    expect(fake.state().jobs).toEqual([{ enclave: '/dev/pisces-enclave0', name: 'hpcc', exe: '/opt/hpcc/hpcc', argv: '-n 4 x;rm', ranks: 2, heapMb: 64 }]);
    expect(() => driver.wrap(state, ['/bin/echo', 'two words'])).toThrow(/partition lwk \(pisces-kitten\): argument "two words" is empty or contains whitespace/);

    await driver.destroy(node, state, ctx);
    expect(fake.calls().at(-1)).toEqual(['pisces_shutdown', '0']);
    expect(logs.at(-1)).toBe('Enclave 0 on node n1 freed; CPUs 2-4 and 3 memory blocks back online.');
    clean(fake);

    // Already gone: destroy again succeeds (crash recovery may repeat it).
    await driver.destroy(node, state, ctx);
    expect(logs.at(-1)).toBe('Enclave 0 on node n1 is already gone.');
  });

  it('a failed load undoes nothing and says what pisces_load printed', async () => {
    const { fake, ctx, spec } = setup();
    fake.failNext('pisces_load', 'error');
    await expect(driver.create(node, spec, ctx)).rejects.toThrow(
      'node n1: step "load" failed: pisces_load reported "Error: Could not create enclave (Error Code: -1)"; it printed: "Error: Could not create enclave (Error Code: -1)" (exit 255). Rollback: nothing to undo',
    );
    expect(tools(fake)).toEqual(['pisces_load']);
    clean(fake);
  });

  it('a failed launch cannot free the loaded enclave (Pisces has no tool for that) and says so', async () => {
    const { fake, ctx, spec } = setup();
    fake.failNext('pisces_launch', 'error');
    const err = await rejection(driver.create(node, spec, ctx));
    expect(err.message).toMatch(/^node n1: step "launch" failed: pisces_launch reported "Error launching enclave\. Code=-1 \| Error: Could not launch enclave 0"/);
    expect(err.message).toMatch(/NOT undone \(clean up by hand\): free enclave 0 \(pisces_shutdown 0\) \(node n1: step "rollback" failed: pisces_shutdown reported "Error opening enclave control channel \(\/dev\/pisces-enclave0\)"/);
    expect(tools(fake)).toEqual(['pisces_load', 'pisces_launch', 'pisces_shutdown']);
    // pisces_launch itself onlined the CPU and block it took; the loaded enclave stays.
    expect(fake.state()).toMatchObject({ offlineCpus: [], offlineBlocks: [], enclaves: { 0: { launched: false } } });
  });

  it('a launch refused for a busy CPU is reported with the tool\'s words', async () => {
    const { fake, ctx, spec } = setup();
    const other = await driver.create(node, { ...spec, name: 'first', cpus: '2', memMb: 128 }, ctx);
    await expect(driver.create(node, spec, ctx)).rejects.toThrow(/step "launch" failed: pisces_launch reported "Error offlining CPU 2 \| Error: Could not launch enclave 1"/);
    await driver.destroy(node, other, ctx);
  });

  it('failures after launch roll back with pisces_shutdown, which returns everything the enclave got', async () => {
    for (const [tool, mode, step, patch] of [
      ['pisces_ctrl', 'add-mem', 'add memory', {}],
      ['none', 'cpu-40', 'add cpus', {}],
      ['none', '', 'verify', { procDir: '/nonexistent/proc/pisces' }],
    ] as const) {
      const { fake, ctx, spec } = setup(patch);
      if (tool !== 'none') fake.failNext(tool, mode);
      const s = mode === 'cpu-40' ? { ...spec, cpus: '2-4,40' } : spec;
      const err = await rejection(driver.create(node, s, ctx));
      expect(err.message, step).toContain(`node n1: step "${step}" failed`);
      expect(err.message, step).toContain('Rollback: free enclave 0 (pisces_shutdown 0)');
      expect(err.message, step).not.toContain('NOT undone');
      expect(tools(fake).at(-1), step).toBe('pisces_shutdown');
      expect(fake.state().enclaves, step).toEqual({});
      if (step === 'add memory') {
        expect(err.message).toContain('reported "Error: Could not add memory block 5 to enclave | Error: Could not add memory block 6 to enclave"');
        expect(fake.state().offlineBlocks).toEqual([5, 6]); // the real pisces_ctrl strands them too
      }
      if (step === 'add cpus') expect(err.message).toContain('reported "Error: Could not offline CPU 40"');
      if (step === 'verify') expect(err.message).toContain('/nonexistent/proc/pisces/enclave-0/cpus and memory: did not contain "Num CPUs: <n>"');
    }
  });

  it('reports the node\'s own refusals: no Pisces module, not enough memory', async () => {
    const { fake, ctx, spec } = setup();
    fake.setNode({ pisces: false });
    await expect(driver.create(node, spec, ctx)).rejects.toThrow(/step "load" failed: pisces_load reported "Error: Could not create enclave \(Error Code: -1\)"/);
    fake.setNode({ pisces: true });
    const err = await rejection(driver.create(node, { ...spec, memMb: 8192 }, ctx));
    expect(err.message).toMatch(/^node n1: step "add memory" failed: pisces_ctrl reported "Error: Could not allocate 63 memory blocks".*\(exit 255\)\. Rollback: free enclave 0 \(pisces_shutdown 0\)$/);
    clean(fake);
  });

  it('a cancelled create tears down what it built', async () => {
    const { fake, ctx, spec } = setup();
    const ac = new AbortController();
    fake.failNext('pisces_ctrl', 'hang');
    const p = rejection(driver.create(node, spec, { ...ctx, signal: ac.signal }));
    while (!tools(fake).includes('pisces_ctrl -m')) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const err = await p;
    expect(err.name).toBe('AbortError');
    expect(err.message).toMatch(/aborted.*Rollback: free enclave 0 \(pisces_shutdown 0\)/);
    expect(tools(fake)).toEqual(['pisces_load', 'pisces_launch', 'pisces_ctrl -m', 'pisces_shutdown']);
    clean(fake);

    const before = fake.calls().length;
    await expect(driver.create(node, spec, { ...ctx, signal: AbortSignal.abort() })).rejects.toThrow(/cancelled before step "load"/);
    expect(fake.calls().length).toBe(before);
  });

  it('works the same on a `transport: local` node', async () => {
    const { fake, ctx, spec } = setup();
    const local = new LocalTransport({ node: 'here' });
    const state = await driver.create(local, spec, ctx);
    expect(state).toMatchObject({ node: 'here', cpus: '2-4', memMb: 384 });
    await driver.destroy(local, state, ctx);
    expect(tools(fake)).toEqual(['pisces_load', 'pisces_launch', 'pisces_ctrl -m', 'pisces_ctrl --explicit', 'pisces_shutdown']);
    clean(fake);
  });

  it('refuses bad options and specs with the partition and field named', async () => {
    const { ctx, spec } = setup();
    await expect(driver.create(node, { ...spec, options: { kernel: 'k' } }, ctx)).rejects.toThrow(/partition lwk \(pisces-kitten\): invalid options: options\.initrd: /);
    await expect(driver.create(node, { ...spec, options: { ...spec.options, bogus: 1 } }, ctx)).rejects.toThrow(/options\.\(root\): Unrecognized key: "bogus"/);
    await expect(driver.create(node, { ...spec, numa: '0-1' }, ctx)).rejects.toThrow('partition lwk (pisces-kitten): numa "0-1" names 2 nodes; expected one NUMA node');
    await expect(driver.create(node, { ...spec, devices: ['0000:03:00.0'] }, ctx)).rejects.toThrow(/devices are not supported/);
  });
});
