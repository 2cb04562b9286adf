/**
 * The inventory source: at start and whenever it changes, one `events` record of kind
 * `node_inventory` holding what a reader needs to interpret the node's numbers (kernel, CPU
 * topology and caches, NUMA memory, PCI devices with SR-IOV, IOMMU groups, and whether hardware
 * counters, tracepoints and BPF are available). It is not a `Source` (those return samples): the
 * agent calls `collect()` every interval and sends the event it returns, if any.
 */
import { stat } from 'node:fs/promises';
import { componentLogger } from '../../core/logger.js';
import type { Lifecycle } from '../../schema/lifecycle.js';
import type { RecordInput } from '../../schema/records.js';
import { probeCapabilities, type Capabilities } from './capabilities.js';
import type { InventoryConfig } from './config.js';
import { readCpus, type CpuInventory } from './cpu.js';
import { readKernel, type KernelInventory } from './kernel.js';
import { readMemory, readNuma, type MemoryInventory, type NumaNodeInventory } from './numa.js';
import { readIommuGroups, readPci, type IommuGroupInventory, type PciDeviceInventory } from './pci.js';

/** An `events` record as the inventory produces it, without the batch identity the agent stamps. */
export type InventoryEvent = Omit<RecordInput<'events'>, 'ts' | 'node' | 'collector' | 'seq' | 'idx'>;

/** The `fields` of a node_inventory event. */
export interface NodeInventory {
  kernel: KernelInventory;
  cpu: CpuInventory;
  memory: MemoryInventory;
  numa: NumaNodeInventory[];
  pci: PciDeviceInventory[];
  iommuGroups: IommuGroupInventory[];
  /** null when probing is turned off (testdata trees). */
  capabilities: Capabilities | null;
}

/** Reads the whole inventory under the configured roots. */
export async function readInventory(config: InventoryConfig, probe: () => Promise<Capabilities> = () => probeCapabilities(config.procfs)): Promise<NodeInventory> {
  const [kernel, cpu, memory, numa, pci, iommuGroups] = await Promise.all([
    readKernel(config.procfs),
    readCpus(config.sysfs, config.procfs),
    readMemory(config.procfs),
    readNuma(config.sysfs),
    readPci(config.sysfs),
    readIommuGroups(config.sysfs),
  ]);
  return { kernel, cpu, memory, numa, pci, iommuGroups, capabilities: config.probes ? await probe() : null };
}

export class InventorySource implements Lifecycle {
  readonly name = 'inventory';
  private last: string | null = null;
  private lastSections: Record<string, string> = {};
  private calls = 0;
  private readonly log = componentLogger('inventory');

  /** @param probe probes the machine's capabilities; the default does it for real. */
  constructor(private readonly config: InventoryConfig, private readonly probe?: () => Promise<Capabilities>) {}

  /** Checks that the roots look like sysfs and procfs; the first `collect()` then returns the inventory. */
  async start(): Promise<void> {
    const cpus = `${this.config.sysfs}/devices/system/cpu`;
    if (!(await stat(cpus).then((s) => s.isDirectory(), () => false))) throw new Error(`${cpus} does not exist; the inventory expects sysfs at ${this.config.sysfs}`);
    if (!(await stat(`${this.config.procfs}/version`).then(() => true, () => false))) throw new Error(`${this.config.procfs}/version does not exist; the inventory expects procfs at ${this.config.procfs}`);
    this.calls = 0;
  }

  /**
   * Call once per interval. Returns the node_inventory event on the first call and, every
   * `checkEvery` calls, when the inventory differs from the last one sent; otherwise null.
   */
  async collect(): Promise<InventoryEvent | null> {
    const due = this.calls % this.config.checkEvery === 0;
    this.calls++;
    if (!due) return null;
    const inventory = await readInventory(this.config, this.probe);
    const text = JSON.stringify(inventory);
    if (text === this.last) return null;
    const sections = Object.fromEntries(Object.entries(inventory).map(([k, v]) => [k, JSON.stringify(v)]));
    const changed = this.last === null ? [] : Object.keys(sections).filter((k) => sections[k] !== this.lastSections[k]);
    this.last = text;
    this.lastSections = sections;
    const message = `${changed.length > 0 ? `Node inventory changed (${changed.join(', ')})` : 'Node inventory'}: ${summarize(inventory)}.`;
    if (changed.length > 0) this.log.info({ changed }, message);
    return { source: 'collector', level: 'info', kind: 'node_inventory', message, fields: inventory as unknown as Record<string, unknown> };
  }

  async shutdown(): Promise<void> {
    this.last = null;
    this.lastSections = {};
  }
}

/** One line a human reads in a log view, e.g. "Linux 6.1.0; 2 sockets × 8 cores × 2 threads (32 CPUs, …)". */
export function summarize(inv: NodeInventory): string {
  const c = inv.cpu;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const mem = inv.memory.totalBytes ?? inv.numa.reduce((a, n) => a + (n.memTotalBytes ?? 0), 0);
  const sriov = inv.pci.filter((d) => d.sriov !== null);
  const parts = [
    `Linux ${inv.kernel.release ?? 'unknown'}`,
    `${plural(c.sockets, 'socket')} × ${plural(c.sockets === 0 ? 0 : c.cores / c.sockets, 'core')} × ${plural(c.threadsPerCore, 'thread')} (${c.logical} CPUs${c.model ? `, ${c.model}` : ''})`,
    `${mem > 0 ? `${(mem / 1024 ** 3).toFixed(1)} GiB` : 'memory unknown'} in ${plural(inv.numa.length, 'NUMA node')}`,
    `${plural(inv.pci.length, 'PCI device')}, ${sriov.length} with SR-IOV (${sriov.reduce((a, d) => a + d.sriov!.numVfs, 0)} VFs active)`,
  ];
  const caps = inv.capabilities;
  if (caps) {
    const yn = (b: boolean) => (b ? 'yes' : 'no');
    parts.push(`hardware counters ${yn(caps.hardwareCounters.available)}, tracepoints ${yn(caps.tracepoints.available)}, BPF ${yn(caps.bpf.available)}`);
  }
  return parts.join('; ');
}
