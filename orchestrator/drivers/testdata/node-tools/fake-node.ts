/**
 * Test side of the fake node tools (`pisces/`, `palacios/` next to this file): a state directory
 * describing one node, failure injection ("the next v3_launch fails"), and readers for what the
 * tools did. The tools run for real (over the node's transport); only the co-kernel and VMM behind
 * them are simulated, see ./README.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The fake Pisces tools (pisces_*, and the Pisces flavour of v3_*). */
export const PISCES_TOOLS = join(here, 'pisces');
/** The fake Palacios-on-Linux tools (v3_* of palacios/linux_usr). */
export const PALACIOS_TOOLS = join(here, 'palacios');

export interface FakeNodeSpec {
  cpus: number;
  numaNodes: number;
  memBlocks: number;
  /** Blocks the kernel keeps (not removable). */
  reservedBlocks: number;
  blockSizeBytes: number;
  /** Pisces module loaded (/dev/pisces present). */
  pisces: boolean;
  /** Palacios module loaded (/dev/v3vee present). */
  v3vee: boolean;
}

export interface FakeNode {
  dir: string;
  /** Environment the tools need (pass as the drivers' `env` option). */
  env: Record<string, string>;
  /** Where the fake Pisces module's proc files are (the pisces-kitten `procDir` option). */
  procDir: string;
  /** A Kitten kernel / init task / guest image that exist on the node. */
  files: { kernel: string; initrd: string; guestImage: string; guestConfig: string };
  /** The next run of `tool` acts out `mode` (e.g. "error", "hang", "add-cpu"). */
  failNext(tool: string, mode: string): void;
  /** Every tool run so far: [tool, ...args]. */
  calls(): string[][];
  /** The simulated node state (enclaves, VMs, offline CPUs and blocks, submitted jobs). */
  state(): FakeState;
  setNode(patch: Partial<FakeNodeSpec>): void;
}

export interface FakeState {
  offlineCpus: number[];
  offlineBlocks: number[];
  enclaves: Record<string, { launched: boolean; cpus: number[]; blocks: number[]; vms: Record<string, { name: string; running: boolean }> }>;
  hostVms: Record<string, { name: string; running: boolean }>;
  jobs: { enclave: string; name: string; exe: string; argv: string; ranks: number; heapMb: number }[];
}

export function makeFakeNode(dir: string, spec: Partial<FakeNodeSpec> = {}): FakeNode {
  const node: FakeNodeSpec = { cpus: 8, numaNodes: 2, memBlocks: 32, reservedBlocks: 4, blockSizeBytes: 128 << 20, pisces: true, v3vee: true, ...spec };
  mkdirSync(join(dir, 'fail'), { recursive: true });
  mkdirSync(join(dir, 'images'), { recursive: true });
  writeFileSync(join(dir, 'node.json'), JSON.stringify(node));
  const files = {
    kernel: join(dir, 'images', 'vmlwk.bin'),
    initrd: join(dir, 'images', 'init_task'),
    guestImage: join(dir, 'images', 'guest.img'),
    guestConfig: join(dir, 'images', 'guest.xml'),
  };
  for (const f of [files.kernel, files.initrd, files.guestImage]) writeFileSync(f, 'image');
  writeFileSync(files.guestConfig, '<vm class="PC"><memory opt_tag="mem">256</memory><cores count="1" opt_tag="cores"/></vm>\n');
  const read = <T>(name: string, dflt: T): T => (existsSync(join(dir, name)) ? (JSON.parse(readFileSync(join(dir, name), 'utf8')) as T) : dflt);
  return {
    dir,
    // The tools start with `#!/usr/bin/env node`: put this Node first on the PATH of SSH sessions too.
    env: { ISOSCOPE_NODE_TOOLS_STATE: dir, PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin` },
    procDir: join(dir, 'proc', 'pisces'),
    files,
    failNext: (tool, mode) => writeFileSync(join(dir, 'fail', tool), mode),
    calls: () => (existsSync(join(dir, 'calls.log')) ? readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []),
    state: () => read<FakeState>('state.json', { offlineCpus: [], offlineBlocks: [], enclaves: {}, hostVms: {}, jobs: [] }),
    setNode: (patch) => writeFileSync(join(dir, 'node.json'), JSON.stringify({ ...read<FakeNodeSpec>('node.json', node), ...patch })),
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
