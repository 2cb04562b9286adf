/**
 * The partition drivers, listed explicitly (nothing registers itself on import). Adding a driver
 * (e.g. `kvm`) is one folder under drivers/ and one line here.
 */
import type { DriverName, PartitionDriver } from './driver.js';
import { KvmDriver } from './kvm/kvm.js';
import { LinuxCpusetDriver } from './linux-cpuset/linux-cpuset.js';
import { PalaciosVmDriver } from './palacios-vm/palacios-vm.js';
import { PiscesKittenDriver } from './pisces-kitten/pisces-kitten.js';

const FACTORIES: Partial<Record<DriverName, () => PartitionDriver>> = {
  'linux-cpuset': () => new LinuxCpusetDriver(),
  'pisces-kitten': () => new PiscesKittenDriver(),
  'palacios-vm': () => new PalaciosVmDriver(),
  kvm: () => new KvmDriver(),
};

/** The driver of that name. @throws naming the drivers this build has. */
export function driverFor(name: DriverName): PartitionDriver {
  const make = FACTORIES[name];
  if (!make) throw new Error(`partition driver "${name}" is not available in this build (available: ${availableDrivers().join(', ')})`);
  return make();
}

export function availableDrivers(): DriverName[] {
  return Object.keys(FACTORIES) as DriverName[];
}
