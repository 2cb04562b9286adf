/**
 * Checks before the first run, through the compiled CLI: a misspelled stressor, an unknown
 * parameter, a missing tool and an unreachable node are all reported at once, with file and field,
 * and no run starts; an experiment file that changed since its journal is refused until
 * `--new-version` (or `--fresh`), and `isoscope runs` then keeps the two versions apart. The
 * `measure:` perf events are probed on every node (locally in-process, over SSH with `isoscope
 * collector --probe-events`): on this VM hardware counters cannot be opened. Partitions' CPUs are
 * checked against their node's `cpus` and the machine's CPUs.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEvents } from '../collectors/perf/probe.js';
import { uniqueName } from '../test/services.js';
import { sshNodeYaml, startSshd, type TestSshd } from '../test/sshd.js';
import { tempDirs } from '../test/temp-dirs.js';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'isoscope.js');
const CATALOG = join(import.meta.dirname, 'testdata', 'catalog');
const tempDir = tempDirs('isoscope-preflight-');

async function isoscope(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ISOSCOPE_LOG_LEVEL: 'error', ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_DATA_DIR: join(dir, 'data') };
  try {
    const r = await exec(process.execPath, [BIN, ...args], { cwd: dir, env });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.skipIf(process.getuid?.() !== 0)('preflight and experiment versions (needs root for cpusets)', () => {
  it('reports a misspelled stressor, an unknown parameter, a missing tool and an unreachable node at once, before any run', async () => {
    const dir = tempDir();
    const experiment = uniqueName('pre');
    mkdirSync(join(dir, 'cat'));
    writeFileSync(join(dir, 'cat', 'missing.yaml'), 'name: missing-tool\nversion: 1\ndescription: a tool no node has\ncommand: [isoscope-no-such-tool-xyz]\n');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    writeFileSync(join(dir, 'e.yaml'), `
experiment: ${experiment}
nodes:
  - { name: local, transport: local }
  - { name: far, transport: ssh, host: 127.0.0.1, port: 1, user: root, key: key, knownHosts: "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }
stacks: [{ name: linux, partitions: [{ name: app, driver: linux-cpuset, cpus: "0" }, { name: noise, driver: linux-cpuset, cpus: "0", options: { exclusiv: true } }] }]
workload: { entry: echo-value, partition: app, nodes: [local], parameters: { value: "x", Z: 1 } }
background:
  - { entry: stress-ng, partition: noise, nodes: [far], parameters: { stressor: cpuu } }
  - { entry: missing-tool, partition: noise, nodes: [local] }
matrix: { nodeCounts: [1], background: [false, true], repetitions: 1, timeoutSeconds: 60 }
measure: { enabled: false }
catalog: [cat]
`);
    const t0 = Date.now();
    const r = await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
    expect(r.code).toBe(1);
    const file = join(dir, 'e.yaml');
    expect(r.stderr).toMatch(/preflight found \d+ problems; no run was started/);
    expect(r.stderr).toContain(`e.yaml: workload.parameters: echo-value: unknown parameter "Z"`);
    expect(r.stderr).toMatch(/e\.yaml: background\[0\]\.parameters: stress-ng: parameter "stressor": expected one of cache, stream, cpu, hdd, vm, matrix, got "cpuu"/);
    expect(r.stderr).toMatch(/e\.yaml: stacks\[0\]\.partitions\[1\]\.options: Unrecognized key: "exclusiv"/i);
    expect(r.stderr).toMatch(/e\.yaml: nodes\[1\] \(far\): unreachable: .*127\.0\.0\.1:1/);
    expect(r.stderr).toMatch(/e\.yaml: nodes\[0\] \(local\): tool "isoscope-no-such-tool-xyz" is not installed \(command -v found nothing\), needed by background\[1\]/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(dir, 'state', 'orchestrator', `${experiment}.journal`))).toBe(false); // nothing ran
    expect(Date.now() - t0).toBeLessThan(60_000);
    void file;
  });

  it('a kvm partition needs its QEMU and taskset on the node', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'e.yaml'), `
experiment: ${uniqueName('pre-kvm')}
nodes: [{ name: local, transport: local }]
stacks: [{ name: vm, partitions: [{ name: guest, driver: kvm, cpus: "0", options: { accel: tcg, qemu: isoscope-no-such-qemu } }] }]
workload: { entry: sysbench, partition: guest }
matrix: { background: [false] }
measure: { enabled: false }
`);
    const r = await isoscope(dir, ['run', 'e.yaml', '--progress', 'lines']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/e\.yaml: nodes\[0\] \(local\): tool "isoscope-no-such-qemu" is not installed \(command -v found nothing\), needed by stacks\[0\]\.partitions\[0\]\.options\.qemu/);
  });

  it('says how to get xhpcg when HPCG (an MPI workload across nodes, not packaged) is not built on the nodes', async (ctx) => {
    const found = spawnSync('sh', ['-c', 'command -v xhpcg'], { encoding: 'utf8' });
    if (found.status === 0) {
      console.log(`HPCG preflight case skipped: xhpcg is installed here (${found.stdout.trim()}), so nothing is missing`);
      ctx.skip();
    }
    const dir = tempDir();
    writeFileSync(join(dir, 'e.yaml'), `
experiment: ${uniqueName('pre-hpcg')}
nodes: [{ name: a, transport: local }, { name: b, transport: local }]
stacks: [{ name: linux, partitions: [{ name: app, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: hpcg, partition: app, parameters: { seconds: 10 } }
matrix: { nodeCounts: [2], background: [false] }
measure: { enabled: false }
`);
    const r = await isoscope(dir, ['run', 'e.yaml', '--progress', 'lines']);
    expect(r.code).toBe(1);
    for (const [i, n] of ['a', 'b'].entries()) {
      expect(r.stderr).toContain(`e.yaml: nodes[${i}] (${n}): tool "xhpcg" is not installed (command -v found nothing), needed by workload (hpcg is not packaged: build it on every node from its public source as \`build:\` in `);
    }
    expect(r.stderr).toMatch(/orchestrator\/catalog\/hpcg\.yaml says\)/);
  });

  it("checks partitions' CPUs against their node's cpus and the machine's CPUs", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'e.yaml'), `
experiment: ${uniqueName('pre-cpus')}
nodes:
  - { name: local, transport: local, cpus: "1,0" }
  - { name: other, transport: local, cpus: "0,4000" }
  - { name: third, transport: local }
stacks: [{ name: linux, partitions: [{ name: app, driver: linux-cpuset, cpus: "0" }, { name: wide, driver: linux-cpuset, cpus: "2", nodes: [local] }, { name: far, driver: linux-cpuset, cpus: "4001", nodes: [third] }] }]
workload: { entry: echo-value, partition: app, parameters: { value: "x" } }
matrix: { nodeCounts: [3], background: [false] }
measure: { enabled: false }
`);
    const r = await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/preflight found 3 problems; no run was started/);
    expect(r.stderr).toContain(`e.yaml: stacks[0].partitions[1].cpus: on node local: cpus "2" names the node's CPU 2, but the node has 2 (cpus "1,0": CPUs 0-1 of the node)`);
    expect(r.stderr).toContain('e.yaml: nodes[1].cpus (other): "0,4000" names CPU 4000, which the machine does not have (present: ');
    expect(r.stderr).toContain('e.yaml: stacks[0].partitions[2].cpus: on third: CPU 4001 is not online there (online: ');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a changed experiment file until --new-version, and keeps the versions apart in isoscope runs', async () => {
    const dir = tempDir();
    const experiment = uniqueName('ver');
    const partition = uniqueName('v');
    const text = `
experiment: ${experiment}
nodes: [{ name: local, transport: local }]
stacks: [{ name: linux, partitions: [{ name: ${partition}, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: echo-value, partition: ${partition}, parameters: { value: "abc" } }
matrix: { nodeCounts: [1], background: [false], repetitions: 1, timeoutSeconds: 60 }
measure: { enabled: false }
`;
    writeFileSync(join(dir, 'e.yaml'), text);
    expect((await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines'])).code).toBe(0);
    writeFileSync(join(dir, 'e.yaml'), text.replace('"abc"', '"abcd"'));
    const refused = await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/e\.yaml changed since the runs in its journal .*spec_hash [0-9a-f]{12}… then, [0-9a-f]{12}… now\. Run it with --new-version/);
    const again = await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines', '--new-version']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/│ end\s+│ 4\s+│ chars/);
    const runs = await isoscope(dir, ['runs', '--experiment', experiment, '--format', 'csv']);
    const versions = runs.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[12]);
    expect(new Set(versions).size).toBe(2);
    const hash = versions[1]!;
    const one = await isoscope(dir, ['runs', '--experiment', experiment, '--spec-hash', hash, '--format', 'csv']);
    expect(one.stdout.trim().split('\n')).toHaveLength(2);
    expect(readFileSync(join(dir, 'e.yaml'), 'utf8')).toContain('abcd');
  });

  describe('perf events probed on every node before the first run', () => {
    let sshd: TestSshd;
    beforeAll(async () => void (sshd = await startSshd()));
    afterAll(async () => sshd?.stop());

    /** A local node and an SSH node whose collector is this build's CLI, each running something. */
    const experimentFile = (dir: string, measure: string) => {
      mkdirSync(join(dir, 'cat'), { recursive: true });
      writeFileSync(join(dir, 'cat', 'missing.yaml'), 'name: missing-tool\nversion: 1\ndescription: a tool no node has\ncommand: [isoscope-no-such-tool-xyz]\n');
      writeFileSync(join(dir, 'e.yaml'), `
experiment: ${uniqueName('pre-perf')}
nodes:
  - { name: local, transport: local }
  - ${sshNodeYaml('far', sshd, `collector: { command: ["${process.execPath}", "${BIN}"] }`)}
stacks: [{ name: linux, partitions: [{ name: app, driver: linux-cpuset, cpus: "0" }] }]
workload: { entry: echo-value, partition: app, nodes: [local], parameters: { value: "x" } }
background: [{ entry: missing-tool, partition: app, nodes: [far] }]
matrix: { nodeCounts: [1], background: [true], repetitions: 1, timeoutSeconds: 60 }
${measure}
catalog: [cat]
`);
    };

    it('the Pisces and Palacios tools of every partition are looked up on the SSH node, missing ones named with their field', async () => {
      const dir = tempDir();
      const tools = join(import.meta.dirname, 'drivers', 'testdata', 'node-tools');
      writeFileSync(join(dir, 'e.yaml'), `
experiment: ${uniqueName('pre-tools')}
nodes:
  - { name: local, transport: local }
  - ${sshNodeYaml('far', sshd)}
stacks:
  - name: missing
    partitions:
      - { name: enclave, driver: pisces-kitten, cpus: "1", nodes: [far], options: { toolsDir: /opt/isoscope-no-pisces, kernel: /k, initrd: /i } }
      - { name: vm, driver: palacios-vm, cpus: "1", nodes: [far], parent: enclave, options: { image: /g.img, launcher: [isoscope-no-such-launcher, "{vm}"] } }
      - { name: host-vm, driver: palacios-vm, cpus: "1", nodes: [far], options: { image: /g.img, toolsDir: /opt/isoscope-no-palacios, launcher: ["{vm}"] } }
      - { name: app, driver: linux-cpuset, cpus: "0", nodes: [local] }
  - name: present
    partitions:
      - { name: enclave, driver: pisces-kitten, cpus: "1", nodes: [far], options: { toolsDir: ${tools}/pisces, kernel: /k, initrd: /i } }
      - { name: vm, driver: palacios-vm, cpus: "1", nodes: [far], parent: enclave, options: { image: /g.img, launcher: [sh, -c] } }
      - { name: app, driver: linux-cpuset, cpus: "0", nodes: [local] }
workload: { entry: echo-value, partition: app, nodes: [local], parameters: { value: "x" } }
background: [{ entry: echo-value, partition: vm, nodes: [far], parameters: { value: "y" } }]
matrix: { nodeCounts: [1], background: [true], repetitions: 1, timeoutSeconds: 60 }
measure: { enabled: false }
`);
      const r = await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
      expect(r.code, r.stderr).toBe(1);
      const far = 'e\\.yaml: nodes\\[1\\] \\(far\\): tool';
      for (const t of ['pisces_load', 'pisces_launch', 'pisces_ctrl', 'pisces_shutdown', 'pisces_run']) {
        expect(r.stderr).toMatch(new RegExp(`${far} "/opt/isoscope-no-pisces/${t}" is not there or not executable, needed by stacks\\[0\\]\\.partitions\\[0\\]\\.options\\.toolsDir`));
      }
      // The VM inside the enclave uses the enclave's (Pisces) v3 tools.
      for (const t of ['v3_create', 'v3_launch', 'v3_stop', 'v3_free']) {
        expect(r.stderr).toMatch(new RegExp(`${far} "/opt/isoscope-no-pisces/${t}" is not there or not executable, needed by stacks\\[0\\]\\.partitions\\[1\\]\\.parent \\(its options\\.toolsDir\\)`));
      }
      expect(r.stderr).toMatch(new RegExp(`${far} "isoscope-no-such-launcher" is not installed \\(command -v found nothing\\), needed by stacks\\[0\\]\\.partitions\\[1\\]\\.options\\.launcher\\[0\\]`));
      for (const t of ['v3_create', 'v3_launch', 'v3_stop', 'v3_free']) {
        expect(r.stderr).toMatch(new RegExp(`${far} "/opt/isoscope-no-palacios/${t}" is not there or not executable, needed by stacks\\[0\\]\\.partitions\\[2\\]\\.options\\.toolsDir`));
      }
      expect(r.stderr).toMatch(/preflight found 14 problems; no run was started/); // 5 + 4 + 1 + 4, nothing about the tools that are there
      expect(r.stderr).not.toContain(tools);
      expect(r.stderr).not.toMatch(/nodes\[0\] \(local\)/); // the local node needs none of them
    }, 120_000);

    it('a requested event a node cannot open is a problem with file and field; software events pass; default ones are a note', async (ctx) => {
      const here = await probeEvents(['cycles']);
      if (here.counting.includes('cycles')) {
        console.log('skipped: this machine can count cycles (the test needs a node without hardware counters, like the CI VM)');
        return ctx.skip();
      }
      // Asked for explicitly: a preflight problem per node, naming the field and the kernel's reason.
      const dir = tempDir();
      experimentFile(dir, 'measure: { perf: { events: [task-clock, context-switches, cycles, "sched:sched_switch"] }, ebpf: false, procfs: false, inventory: false }');
      const asked = await isoscope(dir, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
      expect(asked.code, asked.stderr).toBe(1);
      expect(asked.stderr).toMatch(/preflight found 3 problems; no run was started/);
      expect(asked.stderr).toMatch(/e\.yaml: measure\.perf\.events\[2\] \("cycles"\): nodes\[0\] \(local\) cannot count it: not supported on this machine \(ENOENT/);
      expect(asked.stderr).toMatch(/e\.yaml: measure\.perf\.events\[2\] \("cycles"\): nodes\[1\] \(far\) cannot count it: not supported on this machine \(ENOENT/);
      expect(asked.stderr).not.toMatch(/"(task-clock|context-switches|sched:sched_switch)"\)/); // software events and tracepoints open
      expect(asked.stderr).toMatch(/tool "isoscope-no-such-tool-xyz" is not installed/);
      expect(asked.stderr).not.toMatch(/\n\s+at /);

      // Software events only: nothing about perf (the missing tool still stops the matrix before any run).
      const dir2 = tempDir();
      experimentFile(dir2, 'measure: { perf: { events: [task-clock, context-switches, page-faults] }, ebpf: false }');
      const soft = await isoscope(dir2, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
      expect(soft.stderr).toMatch(/preflight found 1 problem; no run was started/);
      expect(soft.stderr).not.toMatch(/measure\.perf|perf events/);

      // The default set: hardware events it lists are "where supported", a note per node, not a problem.
      const dir3 = tempDir();
      experimentFile(dir3, '');
      const byDefault = await isoscope(dir3, ['run', 'e.yaml', '--catalog', CATALOG, '--progress', 'lines']);
      expect(byDefault.stderr).toMatch(/preflight found 1 problem; no run was started/);
      for (const node of ['nodes\\[0\\] \\(local\\)', 'nodes\\[1\\] \\(far\\)']) {
        expect(byDefault.stderr).toMatch(new RegExp(`preflight: .*e\\.yaml: ${node}: of the default measure\\.perf\\.events, \\d+ cannot be counted there and are left out: .*cycles \\(not supported on this machine.*; counting task-clock, context-switches`));
      }
    }, 300_000);
  });
});
