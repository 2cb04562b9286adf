import { describe, expect, it } from 'vitest';
import { partitionsFor } from './cell.js';
import { parseExperiment } from './experiment/load.js';
import { expandMatrix } from './experiment/matrix.js';
import { orderedCpuList } from '../core/cpu-list.js';
import { hostCpus, orderedCpus, rotatedShares } from './node-cpus.js';

describe('node CPU numbering', () => {
  it('keeps the order a node share is written in', () => {
    expect(orderedCpus('2-3,0,1,0')).toEqual([2, 3, 0, 1]);
    expect(orderedCpuList([2, 3, 0, 1])).toBe('2-3,0-1');
    expect(orderedCpuList([1, 0])).toBe('1,0');
  });

  it("maps a partition's CPUs through the node's share, and names a CPU the node does not have", () => {
    expect(hostCpus(undefined, '0-1')).toBe('0-1');
    expect(hostCpus('1,0', '0')).toBe('1');
    expect(hostCpus('1,0', '0-1')).toBe('0-1');
    expect(hostCpus('4-7', '1,3')).toBe('5,7');
    expect(() => hostCpus('1,0', '2')).toThrow('cpus "2" names the node\'s CPU 2, but the node has 2 (cpus "1,0": CPUs 0-1 of the node)');
  });

  it('rotates the machine CPUs so that nodes start on different ones', () => {
    expect(rotatedShares([0, 1], 4)).toEqual(['0-1', '1,0', '0-1', '1,0']);
    expect(rotatedShares([0, 1, 2, 3, 4, 5, 6, 7], 4)).toEqual(['0-7', '2-7,0-1', '4-7,0-3', '6-7,0-5']);
    expect(rotatedShares([0, 1, 2, 3], 1)).toEqual(['0-3']);
    expect(rotatedShares([0, 2, 4], 3)).toEqual(['0,2,4', '2,4,0', '4,0,2']);
  });

  it('gives every node of a cell its own CPUs for the same partition spec', () => {
    const { spec } = parseExperiment(`
experiment: e
nodes:
  - { name: a, transport: local, cpus: "0-1" }
  - { name: b, transport: local, cpus: "1,0" }
  - { name: c, transport: local }
stacks: [{ name: s, partitions: [{ name: app, driver: linux-cpuset, cpus: "0" }, { name: noise, driver: linux-cpuset, cpus: "1", nodes: [a] }] }]
workload: { entry: w, partition: app }
matrix: { nodeCounts: [3], background: [false] }
`, 'e.yaml');
    const cell = expandMatrix(spec)[0]!;
    const parts = partitionsFor(spec, cell, cell.nodes);
    expect([...parts].map(([n, ps]) => `${n}: ${ps.map((p) => `${p.name} ${p.cpus}`).join(', ')}`)).toEqual(['a: app 0, noise 1', 'b: app 1', 'c: app 0']);
  });
});
