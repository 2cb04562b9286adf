/**
 * Inventory of PCI devices and IOMMU groups: what a reader of device-level numbers needs to know
 * about SR-IOV (which devices can be split into virtual functions, how many are active, which VF
 * belongs to which PF) and device isolation (IOMMU groups), from <sys>/bus/pci/devices and
 * <sys>/kernel/iommu_groups.
 */
import { linkName, listDir, numbered, readInt, readText } from './read-text.js';

export interface PciDeviceInventory {
  /** Domain:bus:device.function, e.g. "0000:3b:00.0". */
  address: string;
  vendor: string | null;
  device: string | null;
  /** PCI class code, e.g. "0x020000" (Ethernet controller). */
  class: string | null;
  driver: string | null;
  /** NUMA node the device is attached to; null when the platform does not say (-1). */
  numaNode: number | null;
  iommuGroup: number | null;
  /** For a device with SR-IOV capability (a PF): VFs it can have, VFs active, their addresses. */
  sriov: { totalVfs: number; numVfs: number; vfs: string[] } | null;
  /** For a virtual function: the address of its physical function. */
  physfn: string | null;
}

export interface IommuGroupInventory {
  group: number;
  /** DMA, DMA-FQ, identity, blocked … (null on kernels without the file). */
  type: string | null;
  devices: string[];
}

/** Reads every PCI device under a sysfs root, sorted by address. */
export async function readPci(sys: string): Promise<PciDeviceInventory[]> {
  const base = `${sys}/bus/pci/devices`;
  const out: PciDeviceInventory[] = [];
  for (const address of await listDir(base)) {
    const dir = `${base}/${address}`;
    const totalVfs = await readInt(`${dir}/sriov_totalvfs`);
    const numaNode = await readInt(`${dir}/numa_node`);
    const group = await linkName(`${dir}/iommu_group`);
    const entries = await listDir(dir);
    const vfs = await Promise.all(numbered(entries, 'virtfn').map((n) => linkName(`${dir}/virtfn${n}`)));
    out.push({
      address,
      vendor: await readText(`${dir}/vendor`),
      device: await readText(`${dir}/device`),
      class: await readText(`${dir}/class`),
      driver: await linkName(`${dir}/driver`),
      numaNode: numaNode === null || numaNode < 0 ? null : numaNode,
      iommuGroup: group === null || !/^\d+$/.test(group) ? null : Number(group),
      sriov: totalVfs === null ? null : { totalVfs, numVfs: (await readInt(`${dir}/sriov_numvfs`)) ?? 0, vfs: vfs.filter((v): v is string => v !== null) },
      physfn: await linkName(`${dir}/physfn`),
    });
  }
  return out;
}

/** Reads the IOMMU groups under a sysfs root, sorted by number; none when the IOMMU is off. */
export async function readIommuGroups(sys: string): Promise<IommuGroupInventory[]> {
  const base = `${sys}/kernel/iommu_groups`;
  const groups = (await listDir(base)).filter((g) => /^\d+$/.test(g)).map(Number).sort((a, b) => a - b);
  return Promise.all(groups.map(async (group) => ({ group, type: await readText(`${base}/${group}/type`), devices: await listDir(`${base}/${group}/devices`) })));
}
