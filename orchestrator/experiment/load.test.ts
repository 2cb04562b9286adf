import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/temp-dirs.js';
import { parseExperiment } from './load.js';
import { expandMatrix } from './matrix.js';

const tempDir = tempDirs('isoscope-experiment-');

const base = `
experiment: e1
nodes:
  - { name: a, transport: local }
  - { name: b, transport: ssh, host: 10.0.0.2, user: root, key: keys/id, knownHosts: "10.0.0.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE" }
stacks:
  - name: linux
    partitions:
      - { name: app, driver: linux-cpuset, cpus: "0-1" }
      - { name: noise, driver: linux-cpuset, cpus: "2", nodes: [b] }
workload: { entry: hpcc, partition: app }
background: [{ entry: stress-ng, partition: noise, nodes: [b] }]
matrix: { nodeCounts: [1, 2], repetitions: 2 }
`;

describe('experiment files', () => {
  it('parses, fills defaults, resolves key paths and expands the matrix in a stable order', () => {
    const { spec, specHash } = parseExperiment(base, '/x/exp.yaml');
    expect(specHash).toMatch(/^[0-9a-f]{64}$/);
    expect(spec.nodes[1]).toMatchObject({ port: 22, agent: false, key: '/x/keys/id' });
    expect(spec.matrix).toMatchObject({ background: [false, true], timeoutSeconds: 600, cooldownSeconds: 0 });
    const cells = expandMatrix(spec);
    expect(cells.map((c) => c.key)).toEqual([
      'linux.n1.alone.r1', 'linux.n1.bg.r1', 'linux.n1.alone.r2', 'linux.n1.bg.r2',
      'linux.n2.alone.r1', 'linux.n2.bg.r1', 'linux.n2.alone.r2', 'linux.n2.bg.r2',
    ]);
    expect(cells[4]!.nodes).toEqual(['a', 'b']);
  });

  it('names file, field path and expectation for every problem', () => {
    const bad = base.replace('cpus: "0-1"', 'cpus: "zero"').replace('transport: local }', 'transport: local, extra: 1 }').replace('user: root, key: keys/id,', 'user: root,');
    expect(() => parseExperiment(bad, 'exp.yaml')).toThrow(/exp\.yaml: nodes\[0\]: Unrecognized key: "extra"[\s\S]*exp\.yaml: nodes\[1\]\.key: give exactly one of `key: FILE` or `agent: true`[\s\S]*exp\.yaml: stacks\[0\]\.partitions\[0\]\.cpus: expected the cpus as a Linux list like "0-3,8"/);
    expect(() => parseExperiment(base.replace('nodeCounts: [1, 2]', 'nodeCounts: [3]').replace('nodes: [b] }\nworkload', 'nodes: [c] }\nworkload'), 'exp.yaml')).toThrow(/exp\.yaml: stacks\[0\]\.partitions\[1\]\.nodes\[0\]: unknown node "c" \(nodes: a, b\)[\s\S]*exp\.yaml: matrix\.nodeCounts\[0\]: 3 nodes asked for, but the workload has 2/);
    expect(() => parseExperiment(base.replace('partition: app }', 'partition: nope }'), 'exp.yaml')).toThrow(/workload\.partition: stack "linux" has no partition "nope" \(it has app, noise\)/);
    expect(() => parseExperiment('experiment: [', 'exp.yaml')).toThrow(/exp\.yaml: not valid YAML/);
  });

  it('takes its nodes from an included file (the testbed inventory), relative to the experiment', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tb'));
    writeFileSync(join(dir, 'tb', 'inventory.yaml'), `# written by isoscope testbed up
nodes:
  - { name: a, transport: ssh, host: 198.18.213.11, user: root, key: id_ed25519, knownHosts: "198.18.213.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE", mpiHost: 198.18.213.11 }
  - { name: b, transport: ssh, host: 198.18.213.12, user: root, key: /abs/id, knownHosts: "198.18.213.12 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE" }
`);
    const text = base.replace(/nodes:\n  - \{ name: a[^\n]*\n  - \{ name: b[^\n]*\n/, 'nodes: { include: tb/inventory.yaml }\n');
    expect(text).toContain('include');
    const file = join(dir, 'exp.yaml');
    const { spec, nodesFile } = parseExperiment(text, file);
    expect(nodesFile).toBe(join(dir, 'tb', 'inventory.yaml'));
    expect(spec.nodes.map((n) => n.name)).toEqual(['a', 'b']);
    expect(spec.nodes[0]).toMatchObject({ host: '198.18.213.11', key: join(dir, 'tb', 'id_ed25519'), mpiHost: '198.18.213.11' });
    expect(spec.nodes[1]).toMatchObject({ key: '/abs/id' });

    expect(() => parseExperiment(text, join(dir, 'other', 'exp.yaml'))).toThrow(/exp\.yaml: nodes\.include: cannot read .*other\/tb\/inventory\.yaml \(ENOENT\); is the testbed up\?/);
    expect(() => parseExperiment(text, file, { allowInclude: false })).toThrow(/nodes\.include: not allowed here/);
    expect(() => parseExperiment(text.replace('include: tb/inventory.yaml', 'file: x'), file)).toThrow(/nodes: expected a list of nodes or `\{ include: FILE \}`/);
    writeFileSync(join(dir, 'tb', 'inventory.yaml'), 'nodes:\n  - { name: a, transport: ssh, host: h, user: root, key: k }\n');
    expect(() => parseExperiment(text, file)).toThrow(new RegExp(`nodes\\[0\\]\\.knownHosts \\(from ${join(dir, 'tb', 'inventory.yaml').replaceAll('/', '\\/')}\\)`));
  });
});
