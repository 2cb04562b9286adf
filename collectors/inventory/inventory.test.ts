import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../schema/codec.js';
import type { Capabilities } from './capabilities.js';
import { inventoryConfigSchema } from './config.js';
import { InventorySource, readInventory, type InventoryEvent, type NodeInventory } from './inventory.js';

const tree = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;
const config = (name: string, extra: Record<string, unknown> = {}) =>
  inventoryConfigSchema.parse({ sysfs: `${tree(name)}/sys`, procfs: `${tree(name)}/proc`, probes: false, ...extra });
const stamp = (e: InventoryEvent) => ({ ...e, ts: 1n, node: 'n', collector: 'c', seq: 0, idx: 0 });
const temps: string[] = [];
afterEach(() => temps.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('readInventory on a 2-socket SMT server with an SR-IOV NIC (testdata/two-socket)', () => {
  it('reads the kernel: release, command line, module names', async () => {
    const inv = await readInventory(config('two-socket'));
    expect(inv.kernel.release).toBe('6.1.0-18-amd64');
    expect(inv.kernel.cmdline).toContain('isolcpus=2-3,10-11');
    expect(inv.kernel.version).toMatch(/^Linux version 6\.1\.0-18-amd64 /);
    expect(inv.kernel.modules).toEqual(['i40e', 'iavf', 'kvm', 'kvm_intel', 'vfio_pci']);
  });

  it('reads sockets, cores, SMT siblings, isolated CPUs and which CPUs share each cache', async () => {
    const { cpu } = await readInventory(config('two-socket'));
    expect(cpu).toMatchObject({
      vendor: 'GenuineIntel', model: 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz', online: '0-15', isolated: '2-3,10-11',
      logical: 16, sockets: 2, cores: 8, threadsPerCore: 2, smtControl: 'on',
    });
    expect(cpu.packages).toEqual([{ id: 0, cpus: '0-3,8-11', cores: 4 }, { id: 1, cpus: '4-7,12-15', cores: 4 }]);
    expect(cpu.smtSiblings).toEqual(['0,8', '1,9', '2,10', '3,11', '4,12', '5,13', '6,14', '7,15']);
    expect(cpu.caches.map((c) => [c.level, c.type, c.sizeBytes, c.instances])).toEqual([
      [1, 'Data', 32768, 8], [1, 'Instruction', 32768, 8], [2, 'Unified', 1048576, 8], [3, 'Unified', 22528 * 1024, 2],
    ]);
    expect(cpu.caches[3]!.shared).toEqual(['0-3,8-11', '4-7,12-15']);
  });

  it('reads memory with its huge pages, and NUMA nodes with CPUs, memory and distances', async () => {
    const { memory, numa } = await readInventory(config('two-socket'));
    expect(memory).toEqual({ totalBytes: 131072000 * 1024, hugePageBytes: 2048 * 1024, hugePages: 1024 });
    expect(numa).toEqual([
      { node: 0, cpus: '0-3,8-11', memTotalBytes: 65536000 * 1024, distances: [10, 21] },
      { node: 1, cpus: '4-7,12-15', memTotalBytes: 65536000 * 1024, distances: [21, 10] },
    ]);
  });

  it('reads PCI devices with SR-IOV capability, active VFs, their PF, NUMA node and IOMMU group', async () => {
    const { pci, iommuGroups } = await readInventory(config('two-socket'));
    const dev = (a: string) => pci.find((d) => d.address === a)!;
    expect(dev('0000:3b:00.0')).toEqual({
      address: '0000:3b:00.0', vendor: '0x8086', device: '0x1572', class: '0x020000', driver: 'i40e', numaNode: 0, iommuGroup: 30,
      sriov: { totalVfs: 32, numVfs: 2, vfs: ['0000:3b:02.0', '0000:3b:02.1'] }, physfn: null,
    });
    expect(dev('0000:3b:00.1').sriov).toEqual({ totalVfs: 32, numVfs: 0, vfs: [] });
    expect(dev('0000:3b:02.1')).toMatchObject({ driver: 'vfio-pci', physfn: '0000:3b:00.0', sriov: null, iommuGroup: 81 });
    expect(dev('0000:00:00.0')).toMatchObject({ driver: null, numaNode: null, iommuGroup: null });
    expect(iommuGroups.map((g) => [g.group, g.type, g.devices])).toEqual([
      [30, 'DMA', ['0000:3b:00.0']], [31, 'DMA', ['0000:3b:00.1']], [40, 'DMA', ['0000:5e:00.0']], [80, 'DMA', ['0000:3b:02.0']], [81, 'DMA', ['0000:3b:02.1']],
    ]);
  });
});

describe('readInventory on other trees', () => {
  it('reads this VM (testdata/vm): one socket, no SMT, virtio devices, no IOMMU groups, no module support', async () => {
    const inv = await readInventory(config('vm'));
    expect(inv.kernel.modules).toBeNull();
    expect(inv.cpu).toMatchObject({ vendor: 'AuthenticAMD', model: 'AMD EPYC', logical: 2, sockets: 1, cores: 2, threadsPerCore: 1, smtControl: 'notsupported', smtSiblings: [] });
    expect(inv.cpu.caches.find((c) => c.level === 3)).toMatchObject({ instances: 1, shared: ['0-1'] });
    expect(inv.numa).toHaveLength(1);
    expect(inv.pci.filter((d) => d.vendor === '0x1af4' && d.driver === 'virtio-pci')).toHaveLength(5);
    expect(inv.pci.every((d) => d.sriov === null && d.iommuGroup === null)).toBe(true);
    expect(inv.iommuGroups).toEqual([]);
  });

  it('reads a minimal kernel that has almost none of the files, leaving the gaps empty or null', async () => {
    const inv = await readInventory(config('minimal'));
    expect(inv.kernel).toEqual({ release: null, version: 'Linux version 4.19.0 (builder@host) #1 SMP', cmdline: null, modules: null });
    expect(inv.cpu).toMatchObject({ online: '0', logical: 1, sockets: 1, cores: 1, threadsPerCore: 1, caches: [], smtControl: null, model: null });
    expect(inv).toMatchObject({ memory: { totalBytes: null, hugePageBytes: null, hugePages: null }, numa: [], pci: [], iommuGroups: [], capabilities: null });
  });
});

describe('InventorySource', () => {
  it('emits a valid node_inventory event at the first collect, then nothing while unchanged', async () => {
    const source = new InventorySource(config('two-socket', { checkEvery: 1 }));
    await source.start();
    const event = (await source.collect())!;
    expect(event).toMatchObject({ source: 'collector', level: 'info', kind: 'node_inventory' });
    expect(event.message).toBe('Node inventory: Linux 6.1.0-18-amd64; 2 sockets × 4 cores × 2 threads (16 CPUs, Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz); 125.0 GiB in 2 NUMA nodes; 6 PCI devices, 2 with SR-IOV (2 VFs active).');
    const [record] = validate('events', [stamp(event)]);
    expect((record!.fields as unknown as NodeInventory).cpu.sockets).toBe(2);
    expect(await source.collect()).toBeNull();
    await source.shutdown();
  });

  it('notices a change (VFs enabled) at the next check, every N calls, and says what changed', async () => {
    const dir = mkdtempSync(`${tmpdir()}/isoscope-inventory-`);
    temps.push(dir);
    cpSync(tree('two-socket'), dir, { recursive: true, verbatimSymlinks: true });
    const source = new InventorySource(inventoryConfigSchema.parse({ sysfs: `${dir}/sys`, procfs: `${dir}/proc`, probes: false, checkEvery: 3 }));
    await source.start();
    expect(await source.collect()).not.toBeNull(); // call 0: initial
    writeFileSync(`${dir}/sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs`, '4\n');
    expect(await source.collect()).toBeNull(); // calls 1, 2: not due
    expect(await source.collect()).toBeNull();
    const changed = (await source.collect())!; // call 3: due, changed
    expect(changed.message).toMatch(/^Node inventory changed \(pci\): .*2 with SR-IOV \(6 VFs active\)\.$/);
    expect((changed.fields as unknown as NodeInventory).pci.find((d) => d.address === '0000:3b:00.1')!.sriov!.numVfs).toBe(4);
    expect(readFileSync(`${dir}/sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs`, 'utf8')).toBe('4\n');
  });

  it('includes the capabilities it probes, and fails at start on roots that are not sysfs/procfs', async () => {
    const caps: Capabilities = { hardwareCounters: { available: false, detail: 'x' }, tracepoints: { available: true, detail: 'y' }, bpf: { available: true, detail: 'z' } };
    const source = new InventorySource(config('vm', { probes: true }), async () => caps);
    await source.start();
    const event = (await source.collect())!;
    expect((event.fields as unknown as NodeInventory).capabilities).toEqual(caps);
    expect(event.message).toMatch(/; hardware counters no, tracepoints yes, BPF yes\.$/);
    await expect(new InventorySource(config('vm', { sysfs: '/nonexistent' })).start()).rejects.toThrow('/nonexistent/devices/system/cpu does not exist; the inventory expects sysfs at /nonexistent');
    await expect(new InventorySource(config('vm', { procfs: tree('vm') })).start()).rejects.toThrow(/version does not exist; the inventory expects procfs/);
  });
});
