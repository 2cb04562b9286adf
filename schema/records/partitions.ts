/** `partitions`: lifecycle of a partition (enclave, VM, cpuset) on a node. */
import { defineRecord } from '../define.js';
import { long, nullable, oneOf, string, symbol, timestamp } from '../columns.js';

export const DRIVERS = ['linux-cpuset', 'kvm', 'pisces-kitten', 'palacios-vm'] as const;
export const PARTITION_ACTIONS = ['create', 'resize', 'destroy', 'fail'] as const;

export const partitions = defineRecord({
  name: 'partitions',
  doc: 'A partition (enclave) was created, resized, destroyed or failed on a node.',
  columns: {
    ts: timestamp('When the action took effect.'),
    partition: symbol('Partition name, unique within the experiment.'),
    node: symbol('Node the partition lives on.'),
    driver: oneOf('symbol', 'Partition driver.', DRIVERS),
    action: oneOf('symbol', 'Lifecycle action.', PARTITION_ACTIONS),
    cpus: string('CPUs owned after the action, as a Linux cpu list (`0-3,8`); empty after destroy.'),
    mem_mb: long('Memory owned after the action, MiB.'),
    numa: nullable(string('NUMA nodes of the memory, as a list (`0,1`).')),
    devices: nullable(string('Devices passed to the partition, comma-separated (PCI addresses …).')),
    run: nullable(symbol('Run the partition was created for.')),
    message: nullable(string('Reason, for `fail`; for `create`, what the driver chose (e.g. `kvm`: accelerator and vCPU pinning).')),
  },
  dedupKeys: ['ts', 'partition', 'node', 'action'],
  partitionBy: 'MONTH',
});
