/**
 * The experiment file (YAML), validated with zod (strict: unknown keys are errors). It names the
 * nodes, the isolation stacks (partitions per node), the workload and its background (interference)
 * workloads from the catalog, and the matrix: node counts × stacks × background off/on × repetitions.
 * @example see examples/stream-interference.yaml
 */
import { z } from 'zod';
import { DRIVERS } from '../../schema/records/partitions.js';
import { measureSchema } from '../../collectors/measure/schema.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const name = (what: string) => z.string().regex(NAME, `expected a ${what} name of letters, digits, "_", "." and "-" (at most 63 characters, not starting with a punctuation mark)`);
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const cpuList = (what: string) => z.string().regex(CPU_LIST, `expected ${what} as a Linux list like "0-3,8"`);

/** A workload parameter value: strings, numbers and booleans (passed as argv words, never through a shell). */
export const parameterValue = z.union([z.string(), z.number(), z.boolean()]);
export type ParameterValue = z.infer<typeof parameterValue>;

/**
 * The node's collector for the experiment. `managed` (default): the orchestrator starts
 * `isoscope collector` there for the experiment's lifetime (in-process on a local node with the
 * embedded bus, else as a process on the node) and restarts it if it dies. `resident`: a collector
 * runs there already (e.g. a system service); the orchestrator checks that its samples arrive.
 */
export const nodeCollectorSchema = z.strictObject({
  mode: z.enum(['managed', 'resident']).default('managed'),
  /** argv of the isoscope command on the node. @default local: this isoscope (node + its bin/isoscope.js); ssh: ["isoscope"] */
  command: z.array(z.string().min(1)).min(1).optional(),
  /** Node name the collector's samples carry (resident collectors: its `node` setting). @default the node's name */
  reports: name('node').optional(),
  /** Directory on the node the orchestrator hands partitions to the collector in. @default /tmp/isoscope/scopes/<experiment>-<8 hex of the orchestrator's data directory>/<node> */
  scopesDir: z.string().regex(/^\//, 'expected an absolute directory').optional(),
  /** Where a managed collector sends: kafka (the experiment's brokers), http (the orchestrator's bus endpoint, with the embedded bus). @default kafka with the Kafka bus, else http (in-process on a local node) */
  sink: z.enum(['kafka', 'http']).optional(),
  /** sink http: the orchestrator's bus endpoint as the node reaches it. @default the address it listens on (`isoscope run --collector-listen`) */
  httpUrl: z.url().optional(),
  /** Kafka brokers as the node reaches them. @default the orchestrator's brokers */
  kafkaBrokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')).min(1).optional(),
  /** Extra environment of a managed collector (e.g. ISOSCOPE_DATA_DIR). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).default({}),
});
export type NodeCollector = z.infer<typeof nodeCollectorSchema>;

const localNode = z.strictObject({
  name: name('node'),
  transport: z.literal('local'),
  /**
   * The machine's CPUs this node stands for, when several nodes share one machine (`isoscope testbed
   * up` writes it): partition `cpus` on the node are the node's own numbers, and the node's CPU k is
   * the k-th CPU of this list, in the order written (`1,0`: the node's CPU 0 is the machine's CPU 1).
   * @default the node's own CPUs, numbered as its kernel numbers them
   */
  cpus: cpuList('the node\'s CPUs').optional(),
  collector: nodeCollectorSchema.optional(),
}).describe('a node that is this machine');

const sshNode = z.strictObject({
  name: name('node'),
  transport: z.literal('ssh'),
  host: z.string().min(1, 'expected the host name or address'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a user name'),
  /** Private key file (relative to the experiment file); without it, the SSH agent. */
  key: z.string().min(1).optional(),
  agent: z.boolean().default(false),
  /** known_hosts line for the node: its host key is always verified. */
  knownHosts: z.string().min(1, 'expected the node\'s known_hosts line ("[host]:port ssh-ed25519 AAAA…"); host keys are always verified'),
  /** Host name other nodes (mpirun) use for this node. @default host */
  mpiHost: z.string().optional(),
  /**
   * The machine's CPUs this node stands for, when several nodes share one machine (`isoscope testbed
   * up` writes it): partition `cpus` on the node are the node's own numbers, and the node's CPU k is
   * the k-th CPU of this list, in the order written (`1,0`: the node's CPU 0 is the machine's CPU 1).
   * @default the node's own CPUs, numbered as its kernel numbers them
   */
  cpus: cpuList('the node\'s CPUs').optional(),
  collector: nodeCollectorSchema.optional(),
}).refine((n) => !!n.key !== n.agent, { message: 'give exactly one of `key: FILE` or `agent: true`', path: ['key'] });

export const nodeSchema = z.discriminatedUnion('transport', [localNode, sshNode]);
export type NodeSpecification = z.infer<typeof nodeSchema>;

export const partitionSchema = z.strictObject({
  name: name('partition'),
  driver: z.enum(DRIVERS),
  cpus: cpuList('the cpus'),
  memMb: z.number().int().min(0).default(0),
  numa: cpuList('the NUMA nodes').optional(),
  devices: z.array(z.string().min(1)).default([]),
  options: z.record(z.string(), z.unknown()).default({}),
  parent: name('partition').optional(),
  /** Only on these nodes (default: every node the cell uses). */
  nodes: z.array(name('node')).optional(),
});
export type PartitionSpecification = z.infer<typeof partitionSchema>;

export const stackSchema = z.strictObject({
  name: name('stack'),
  partitions: z.array(partitionSchema).min(1, 'expected at least one partition'),
});

export const workloadSchema = z.strictObject({
  /** Catalog entry name, e.g. `hpcc`. */
  entry: name('catalog entry'),
  parameters: z.record(z.string(), parameterValue).default({}),
  /** Partition (of the stack) the workload runs in. */
  partition: name('partition'),
  /** Nodes the workload may use, in order; a cell with node count N takes the first N. @default every node */
  nodes: z.array(name('node')).optional(),
});

export const backgroundSchema = z.strictObject({
  entry: name('catalog entry'),
  parameters: z.record(z.string(), parameterValue).default({}),
  partition: name('partition'),
  /** Where it runs. @default the nodes of the cell */
  nodes: z.array(name('node')).optional(),
});

export const matrixSchema = z.strictObject({
  nodeCounts: z.array(z.number().int().min(1)).min(1).default([1]),
  /** Stack names. @default every stack */
  stacks: z.array(name('stack')).optional(),
  background: z.array(z.boolean()).min(1).default([false, true]),
  repetitions: z.number().int().min(1).max(1000).default(1),
  timeoutSeconds: z.number().positive().default(600),
  cooldownSeconds: z.number().min(0).default(0),
  /** With background on: how long the background workloads run before the workload starts. */
  warmupSeconds: z.number().min(0).default(1),
});

export const experimentSchema = z.strictObject({
  experiment: name('experiment'),
  description: z.string().optional(),
  nodes: z.array(nodeSchema).min(1, 'expected at least one node'),
  stacks: z.array(stackSchema).min(1, 'expected at least one stack'),
  workload: workloadSchema,
  background: z.array(backgroundSchema).default([]),
  matrix: matrixSchema.default({ nodeCounts: [1], background: [false, true], repetitions: 1, timeoutSeconds: 600, cooldownSeconds: 0, warmupSeconds: 1 }),
  /** Most nodes worked on at once (partition set-up and tear-down, connections). @default 8 */
  concurrency: z.number().int().min(1).max(1024).default(8),
  /**
   * Autogroup nice of every workload and background session (Linux with sched_autogroup_enabled:
   * CPU time is shared between sessions first, nice acts only inside one). Negative values need root.
   */
  autogroupNice: z.number().int().min(-20).max(19).optional(),
  /** What the collectors count while the experiment runs (collectors/measure/schema.ts). @default the interference set */
  measure: measureSchema.default(measureSchema.parse({})),
  /** Extra catalog directories (relative to the experiment file). */
  catalog: z.array(z.string()).default([]),
});

export type Experiment = z.infer<typeof experimentSchema>;
