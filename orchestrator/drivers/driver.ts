/**
 * The partition driver contract. A driver creates a partition (cpuset, Kitten enclave, Palacios VM,
 * later a KVM guest) on one node through its {@link NodeTransport}, tells the runner how to launch a
 * command inside it, and destroys it. Drivers never emit records themselves: the runner turns each
 * returned {@link PartitionState} into a `partitions` record, so adding a driver (e.g. `kvm`) touches
 * only `drivers/<name>/` and the registry in `drivers/registry.ts`.
 */
import type { NodeTransport } from '../transport/transport.js';
import type { DRIVERS } from '../../schema/records/partitions.js';

export type DriverName = (typeof DRIVERS)[number];

/** What an experiment asks for (validated by the experiment schema before a driver sees it). */
export interface PartitionSpec {
  /** Partition name, unique within the experiment (`partition` column). */
  name: string;
  driver: DriverName;
  /** Linux cpu list, e.g. `2-3` or `0,4`. */
  cpus: string;
  /** Memory, MiB (0 = driver default / no limit). */
  memMb: number;
  /** NUMA nodes for the memory, a Linux list like `0` or `0-1`. */
  numa?: string;
  /** Devices handed to the partition (PCI addresses, block devices …). */
  devices?: string[];
  /** Driver-specific options (validated by the driver's own zod schema in its config.ts). */
  options?: Record<string, unknown>;
  /** For drivers that nest (a Palacios VM inside a Kitten enclave): the parent partition's name. */
  parent?: string;
}

/**
 * A partition as it exists on the node. `handle` is everything the driver needs to destroy the
 * partition later, in JSON, because the orchestrator journals it before it reports success: after a
 * crash, a restarted orchestrator destroys leftovers from the journal alone.
 */
export interface PartitionState {
  name: string;
  node: string;
  driver: DriverName;
  cpus: string;
  memMb: number;
  numa: string | null;
  devices: string[];
  /** Driver-private JSON (cgroup path, enclave id, VM name …). */
  handle: Record<string, unknown>;
  /** What the driver chose, as the `message` of the partition's `create` record (e.g. `kvm`'s accelerator). */
  note?: string;
  /** What the run's provenance should hold about this partition (e.g. the guest kernel and initramfs). */
  provenance?: Record<string, unknown>;
}

export interface DriverContext {
  /** Progress lines (shown in the run's progress and logged). */
  log: (message: string) => void;
  /** The experiment and the run the partition belongs to: they name its cgroup (`partitionCgroup` in cgroup-path.ts). */
  experiment: string;
  run: string;
  signal?: AbortSignal;
  /** Partitions already created on this node in this cell, by name (for `parent`). */
  siblings: ReadonlyMap<string, PartitionState>;
  /** Parent of the run directories on the node (a VM shares it with its guest). @default /tmp/isoscope */
  workRoot?: string;
  /**
   * Journals a partial state before create returns, as soon as the node holds something to clean up,
   * so an orchestrator killed during a long create (a VM booting) leaves recovery a handle. The
   * driver's destroy must accept such a partial handle. A later checkpoint or the final state
   * replaces it.
   */
  checkpoint?: (state: PartitionState) => void;
}

/**
 * What the node's collector counts for one partition on its own: the cgroup directories (absolute
 * on the node) that hold exactly the partition's tasks. perf counts per cgroup in each (so two
 * partitions sharing a CPU are told apart), eBPF per-cgroup maps are keyed to them, and the
 * collector stamps the partition's name on those samples itself.
 */
export interface MeasureScope {
  cgroups: string[];
}

export interface PartitionDriver {
  readonly name: DriverName;
  /**
   * Creates the partition and confirms each step from the tools' output. On failure it undoes what it
   * did and throws an error saying which step failed on which node and what the tool printed.
   */
  create(node: NodeTransport, spec: PartitionSpec, ctx: DriverContext): Promise<PartitionState>;
  /** argv that runs `argv` inside the partition (e.g. joins the cgroup, or launches on the enclave). */
  wrap(state: PartitionState, argv: readonly string[]): string[];
  /**
   * The partition's measurement hook: called by the runner after create (the scope is handed to the
   * node's collector before any workload starts) and withdrawn before destroy. A driver whose
   * partition is a cgroup (or runs in one: a VM's QEMU process) returns it; the cgroup must be in
   * the node's perf_event hierarchy (cgroup v1: a perf_event mount; else the unified v2 tree).
   * Absent or null: the partition is counted only node-wide, tagged by CPU ownership.
   */
  measureScope?(state: PartitionState): MeasureScope | null;
  /**
   * For partitions that are machines of their own (a `kvm` guest): a transport whose commands run
   * inside the partition. The runner then runs workloads through it (with `wrap` applied) instead of
   * through the node's transport; the run directory is shared, so paths stay the same.
   */
  connect?(node: NodeTransport, state: PartitionState): Promise<NodeTransport>;
  /** Destroys the partition; succeeds when it is already gone (idempotent, used by crash recovery). */
  destroy(node: NodeTransport, state: PartitionState, ctx: DriverContext): Promise<void>;
}
