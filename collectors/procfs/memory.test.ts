import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validate } from '../../schema/codec.js';
import { procfsConfigSchema } from './config.js';
import { memorySamples, readNumaMeminfo } from './memory.js';
import { parseMeminfo } from './parse-meminfo.js';
import { ProcfsSource } from './procfs.js';

const fixture = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;
const value = (samples: { metric: string; value: number; device?: string | null }[], metric: string, device?: string) =>
  samples.find((s) => s.metric === metric && (device === undefined || s.device === device))?.value;

describe('parseMeminfo', () => {
  it('reads every line of a full file, kB in bytes and page counts as they are', () => {
    const m = parseMeminfo(readFileSync(fixture('meminfo-full.txt'), 'utf8'));
    expect(m.skipped).toBe(0);
    expect(m.node).toBeUndefined();
    expect(m.values.get('MemTotal')).toBe(24684092 * 1024);
    expect(m.values.get('Active(anon)')).toBe(1544 * 1024);
    expect(m.values.get('HugePages_Total')).toBe(0);
    expect(m.values.get('Hugepagesize')).toBe(2048 * 1024);
  });

  it('reads a node file and its node number', () => {
    const m = parseMeminfo(readFileSync(fixture('numa-2node/node1/meminfo'), 'utf8'));
    expect(m.node).toBe(1);
    expect(m.values.get('MemTotal')).toBe(8388608 * 1024);
    expect(m.values.get('HugePages_Free')).toBe(3);
  });

  it('skips and counts lines it cannot read', () => {
    const m = parseMeminfo(readFileSync(fixture('meminfo-invalid.txt'), 'utf8'));
    expect(m.values.size).toBe(0);
    expect(m.skipped).toBe(4);
  });
});

describe('memorySamples', () => {
  it('reports the selected keys in bytes, huge pages converted with Hugepagesize', () => {
    const out = memorySamples(parseMeminfo(readFileSync(fixture('meminfo-partial.txt'), 'utf8')), []);
    expect(value(out, 'mem.total')).toBe(1011048 * 1024);
    expect(value(out, 'mem.available')).toBeUndefined(); // an older kernel without MemAvailable
    expect(value(out, 'mem.hugepages_total')).toBe(8 * 2048 * 1024);
    expect(value(out, 'mem.hugepages_rsvd')).toBe(2048 * 1024);
    expect(out.every((s) => s.cpu === -1 && s.device === undefined)).toBe(true);
    expect(() => validate('samples', out.map((s, idx) => ({ ...s, ts: 1n, node: 'n', collector: 'c', seq: 0, idx, source: 'procfs' })))).not.toThrow();
  });

  it('labels per-node memory with the node and uses the node-wide huge page size', async () => {
    const numa = await readNumaMeminfo(fixture('numa-2node'));
    expect(numa.map((n) => n.node)).toEqual([0, 1]);
    const out = memorySamples(parseMeminfo('Hugepagesize: 2048 kB\n'), numa);
    expect(value(out, 'numa.mem.total', 'node1')).toBe(8388608 * 1024);
    expect(value(out, 'numa.mem.hugepages_total', 'node1')).toBe(4 * 2048 * 1024);
    expect(value(out, 'numa.mem.used', 'node0')).toBe(2371304 * 1024);
    expect(value(out, 'numa.mem.file', 'node0')).toBe(691968 * 1024);
  });

  it('treats a missing node directory (kernel without NUMA) as no nodes', async () => {
    expect(await readNumaMeminfo('/nonexistent/node')).toEqual([]);
  });
});

describe('memory on this machine', () => {
  it('reports mem.total equal to /proc/meminfo and per-node totals that fit in it', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ interruptsPath: null }));
    await source.start();
    const out = await source.read();
    await source.shutdown();
    const memTotal = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    expect(value(out, 'mem.total')).toBe(memTotal);
    expect(value(out, 'mem.free')).toBeLessThanOrEqual(memTotal);
    const nodes = out.filter((s) => s.metric === 'numa.mem.total');
    expect(nodes.length).toBeGreaterThan(0); // this machine has /sys/devices/system/node/node0
    expect(nodes.reduce((a, s) => a + s.value, 0)).toBeLessThanOrEqual(memTotal);
    expect(nodes[0]!.device).toBe('node0');
  });

  it('fails at start when the meminfo file is not meminfo, naming it', async () => {
    const source = new ProcfsSource(procfsConfigSchema.parse({ meminfoPath: fixture('meminfo-invalid.txt') }));
    await expect(source.start()).rejects.toThrow(/meminfo-invalid\.txt: no MemTotal line/);
  });
});
