import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/temp-dirs.js';
import { writeFileSync } from 'node:fs';
import { loadCatalog, parseCatalogEntry } from './load.js';
import { fill, resolveParameters } from './template.js';

const tempDir = tempDirs('isoscope-catalog-');

describe('workload catalog', () => {
  it('loads the shipped entries', () => {
    const c = loadCatalog();
    expect([...c.entries.keys()].sort()).toEqual(['hpcc', 'hpcg', 'stress-ng', 'sysbench']);
    expect(c.get('hpcc').launch.mode).toBe('mpirun');
    // HPCG runs across nodes the same way (one rank per node), where xhpcg is built on them.
    expect(c.get('hpcg').launch).toMatchObject({ mode: 'mpirun', ranksPerNode: 1 });
    expect(c.get('hpcg').command[0]).toBe('{{binary}}');
    expect(c.get('hpcg').build).toContain('install -m 755 bin/xhpcg /usr/local/bin/xhpcg');
    expect(() => c.get('nope')).toThrow(/no entry "nope" \(entries: hpcc, hpcg, stress-ng, sysbench\)/);
  });

  it('user directories add and override entries; bad entries name file, field and expectation', () => {
    const dir = tempDir();
    writeFileSync(`${dir}/mine.yaml`, 'name: mine\nversion: 2\ndescription: d\ncommand: [echo, "{{x}}"]\nparameters: { x: { type: string } }\nresult: { parser: regex, regex: "(\\\\d+)", unit: n }\n');
    expect(loadCatalog([dir]).get('mine').version).toBe(2);
    expect(() => parseCatalogEntry('name: m\nversion: 1\ndescription: d\ncommand: []\nbogus: 1\n', 'f.yaml')).toThrow(/f\.yaml: command: expected the command as a list of words[\s\S]*f\.yaml: \(top level\): Unrecognized key: "bogus"/);
    expect(() => parseCatalogEntry('name: m\nversion: 1\ndescription: d\ncommand: [x, "{{y}}"]\n', 'g.yaml')).toThrow(/g\.yaml: command\[1\]: "\{\{y\}\}" is not a parameter of m/);
  });

  it('checks parameter types and keeps values inside their word', () => {
    const hpcc = loadCatalog().get('hpcc');
    expect(resolveParameters(hpcc, { N: 500 })).toEqual({ N: '500', NB: '80', metric: 'stream-triad' });
    expect(() => resolveParameters(hpcc, { N: '5; rm -rf /', metric: 'x', Z: 1 })).toThrow(/workload hpcc: unknown parameter "Z".*parameter "N": expected an integer, got "5; rm -rf \/".*parameter "metric": expected one of stream-triad/);
    expect(() => resolveParameters(hpcc, { N: 50 })).toThrow(/expected at least 100/);
    expect(fill('--x={{v}}', { v: "'; id #" }, 'w')).toBe("--x='; id #");
    expect(() => fill('{{nope}}', {}, 'command[0]')).toThrow(/command\[0\]: "\{\{nope\}\}" has no value/);
  });
});
