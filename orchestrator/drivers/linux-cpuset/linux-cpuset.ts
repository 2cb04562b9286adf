/**
 * `linux-cpuset`: a partition is a cpuset cgroup (v1 or v2, detected per node) with its cpus and
 * memory nodes. Where perf counts cgroups in another hierarchy (cgroup v1 cpuset beside a v1
 * perf_event mount, or a hybrid system's unified v2 tree), the partition gets a cgroup of the same
 * name there too and its tasks join both, so the collector counts the partition on its own. The
 * cgroup is `<root>/<experiment>-<run hash>/<node>-<partition>` (../cgroup-path.ts): one directory
 * per run, so concurrent experiments with the same node and partition names never meet. Every step
 * runs as an argv over the node's transport (values are positional shell arguments, never spliced
 * into a script) and is confirmed by reading the file back. `wrap` makes the command join the cgroup
 * before it execs; `destroy` kills leftover tasks, removes the cgroup and then the run's directory
 * once it is empty.
 */
import type { DriverContext, PartitionDriver, PartitionSpec, PartitionState } from '../driver.js';
import type { NodeTransport } from '../../transport/transport.js';
import { expandCpuList, formatCpuList } from '../../../core/cpu-list.js';
import { linuxCpusetOptions } from './config.js';
import { detectHierarchy, detectPerfMount, type CpusetHierarchy } from './hierarchy.js';
import type { MeasureScope } from '../driver.js';
import { partitionCgroup } from '../cgroup-path.js';

/** Handle journaled for crash recovery. */
export interface CpusetHandle {
  version: 1 | 2;
  path: string;
  /** The partition's cgroup in the perf_event hierarchy, when that is another hierarchy. */
  perfPath?: string;
  /**
   * The run's directories holding `path` (and `perfPath`), removed by destroy once empty. Absent in
   * handles journaled before cgroups had a run directory (their parent is the shared root).
   */
  runDirs?: string[];
  [key: string]: unknown;
}

const WRITE = 'printf "%s\\n" "$1" > "$2"';
const DESTROY = [
  'd="$1"; [ -d "$d" ] || exit 0',
  'i=0; while [ $i -lt 100 ]; do p=$(cat "$d/cgroup.procs" 2>/dev/null); [ -z "$p" ] && break; kill -KILL $p 2>/dev/null; sleep 0.05; i=$((i+1)); done',
  'rmdir "$d"',
].join('\n');
/** Removes each directory that is empty; one still holding a sibling partition's cgroup stays. */
const RMDIR_EMPTY = 'for d in "$@"; do [ -d "$d" ] || continue; rmdir "$d" 2>/dev/null || [ -n "$(find "$d" -mindepth 1 -maxdepth 1 -type d -print -quit)" ] || rmdir "$d" || exit 1; done';

export class LinuxCpusetDriver implements PartitionDriver {
  readonly name = 'linux-cpuset' as const;

  /** Per node: its hierarchy and prepared parent directories (each costs several commands over SSH). */
  private readonly hierarchies = new Map<string, Promise<CpusetHierarchy>>();
  private readonly perfMounts = new Map<string, Promise<string | null>>();
  private readonly parents = new Set<string>();

  /** @param prefer use this cgroup version when a node has both (default: v1 if mounted, else v2). */
  constructor(private readonly prefer?: 1 | 2) {}

  async create(node: NodeTransport, spec: PartitionSpec, ctx: DriverContext): Promise<PartitionState> {
    const parsed = linuxCpusetOptions.safeParse(spec.options ?? {});
    if (!parsed.success) throw new Error(`partition ${spec.name} (linux-cpuset): options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
    const options = parsed.data;
    let detected = this.hierarchies.get(node.node);
    if (!detected) {
      detected = detectHierarchy(node, this.prefer);
      detected.catch(() => this.hierarchies.delete(node.node));
      this.hierarchies.set(node.node, detected);
    }
    const h = await detected;
    let perfMount = this.perfMounts.get(node.node);
    if (!perfMount) {
      perfMount = detectPerfMount(node);
      perfMount.catch(() => this.perfMounts.delete(node.node));
      this.perfMounts.set(node.node, perfMount);
    }
    const perf = await perfMount;
    const rel = partitionCgroup({ root: options.root, experiment: ctx.experiment, run: ctx.run, node: node.node, partition: spec.name });
    const parent = `${h.mount}/${options.root}`;
    const path = `${h.mount}/${rel}`;
    const runDir = path.slice(0, path.lastIndexOf('/'));
    const perfPath = perf && perf !== h.mount ? `${perf}/${rel}` : undefined;
    const runDirs = [runDir, ...(perfPath ? [perfPath.slice(0, perfPath.lastIndexOf('/'))] : [])];
    const cpus = formatCpuList(expandCpuList(spec.cpus));
    ctx.log(`creating cpuset ${path} (cgroup v${h.version}) with cpus ${cpus}`);
    const step = new Steps(node, spec.name);
    if (!this.parents.has(`${node.node}:${parent}`)) {
      await step.prepareParent(h, h.mount, parent);
      this.parents.add(`${node.node}:${parent}`);
    }
    const handle: CpusetHandle = { version: h.version, path, ...(perfPath ? { perfPath } : {}), runDirs };
    // Journaled before anything exists: an orchestrator killed from here on leaves recovery the paths.
    ctx.checkpoint?.({ name: spec.name, node: node.node, driver: this.name, cpus, memMb: spec.memMb, numa: spec.numa ?? null, devices: spec.devices ?? [], handle });
    await step.prepareParent(h, parent, runDir);
    await step.run('mkdir', ['mkdir', path]);
    try {
      if (perfPath) {
        ctx.log(`creating ${perfPath} in the perf_event hierarchy`);
        await step.run('creating the perf_event cgroup', ['mkdir', '-p', perfPath]);
      }
      const mems = spec.numa ?? (await step.read(`${parent}/${h.version === 1 ? 'cpuset.mems' : 'cpuset.mems.effective'}`));
      await step.write(`${path}/cpuset.cpus`, cpus);
      await step.write(`${path}/cpuset.mems`, mems);
      if (h.version === 1 && options.exclusive) await step.write(`${path}/cpuset.cpu_exclusive`, '1');
      if (h.version === 2 && options.partition) await step.write(`${path}/cpuset.cpus.partition`, options.partition);
      const effective = await step.read(`${path}/${h.version === 1 ? 'cpuset.cpus' : 'cpuset.cpus.effective'}`);
      if (effective === '' || formatCpuList(expandCpuList(effective)) !== cpus) {
        throw new Error(`partition ${spec.name} on node ${node.node}: cpuset ${path} has cpus "${effective}" after writing "${cpus}" (are the cpus online and allowed by the parent?)`);
      }
      return {
        name: spec.name,
        node: node.node,
        driver: this.name,
        cpus,
        memMb: spec.memMb,
        numa: mems,
        devices: spec.devices ?? [],
        handle,
      };
    } catch (err) {
      await node.exec(['rmdir', path]).catch(() => {});
      if (perfPath) await node.exec(['rmdir', perfPath]).catch(() => {});
      await node.exec(['sh', '-c', RMDIR_EMPTY, 'rmdir', ...runDirs]).catch(() => {});
      throw err;
    }
  }

  wrap(state: PartitionState, argv: readonly string[]): string[] {
    const { path, perfPath } = state.handle as CpusetHandle;
    // $0 (and $1) are procs files, "$@" the command: nothing of argv is parsed by this shell.
    if (perfPath) return ['sh', '-c', 'echo $$ > "$0" && echo $$ > "$1" && shift && exec "$@"', `${path}/cgroup.procs`, `${perfPath}/cgroup.procs`, ...argv];
    return ['sh', '-c', 'echo $$ > "$0" && exec "$@"', `${path}/cgroup.procs`, ...argv];
  }

  measureScope(state: PartitionState): MeasureScope {
    const { path, perfPath } = state.handle as CpusetHandle;
    return { cgroups: [perfPath ?? path] };
  }

  async destroy(node: NodeTransport, state: PartitionState, ctx: DriverContext): Promise<void> {
    const { path, perfPath, runDirs } = state.handle as CpusetHandle;
    if (typeof path !== 'string' || !/\/[^/]+-[^/]+$/.test(path)) throw new Error(`partition ${state.name} on node ${node.node}: handle has no cpuset path (${JSON.stringify(state.handle)})`);
    ctx.log(`destroying cpuset ${path}`);
    const r = await node.exec(['sh', '-c', DESTROY, 'destroy', path], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`partition ${state.name} on node ${node.node}: cannot remove cpuset ${path}: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    if (typeof perfPath === 'string' && /\/[^/]+-[^/]+$/.test(perfPath)) {
      const p = await node.exec(['sh', '-c', DESTROY, 'destroy', perfPath], { timeoutMs: 30_000 });
      if (p.code !== 0) throw new Error(`partition ${state.name} on node ${node.node}: cannot remove its perf_event cgroup ${perfPath}: ${(p.stderr || p.stdout).trim() || `exit ${p.code}`}`);
    }
    // Only the directories that hold this partition's cgroup (a handle names nothing else).
    const dirs = (Array.isArray(runDirs) ? runDirs : []).filter((d): d is string => typeof d === 'string' && (d === dirOf(path) || (typeof perfPath === 'string' && d === dirOf(perfPath))));
    if (dirs.length) {
      const e = await node.exec(['sh', '-c', RMDIR_EMPTY, 'rmdir', ...dirs], { timeoutMs: 30_000 });
      if (e.code !== 0) throw new Error(`partition ${state.name} on node ${node.node}: cannot remove the run's cgroup directory (${dirs.join(', ')}): ${(e.stderr || e.stdout).trim() || `exit ${e.code}`}`);
    }
  }
}

const dirOf = (p: string): string => p.slice(0, p.lastIndexOf('/'));

/** One partition's steps on one node, each confirmed, each failure naming partition, node and file. */
class Steps {
  constructor(private readonly node: NodeTransport, private readonly partition: string) {}

  async run(what: string, argv: string[]): Promise<string> {
    const r = await this.node.exec(argv, { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`partition ${this.partition} on node ${this.node.node}: ${what} failed: ${argv.join(' ')}: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    return r.stdout.trim();
  }

  read(file: string): Promise<string> {
    return this.run(`reading ${file}`, ['cat', file]);
  }

  async write(file: string, value: string): Promise<void> {
    await this.run(`writing "${value}" to ${file}`, ['sh', '-c', WRITE, 'write', value, file]);
    const back = await this.read(file);
    if (file.endsWith('.cpus') || file.endsWith('.mems') ? formatCpuList(expandCpuList(back)) !== formatCpuList(expandCpuList(value)) : back.split(' ')[0] !== value) {
      throw new Error(`partition ${this.partition} on node ${this.node.node}: ${file} reads "${back}" after writing "${value}"`);
    }
  }

  /**
   * `dir` (below `above`, made with mkdir -p) ready for cpuset children: v1 gets the cpus and mems
   * of `above` when it has none, v2 has the cpuset controller enabled in `above` and in `dir`.
   */
  async prepareParent(h: CpusetHierarchy, above: string, dir: string): Promise<void> {
    await this.run('creating the parent cgroup', ['mkdir', '-p', dir]);
    if (h.version === 1) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if ((await this.read(`${dir}/${f}`)) === '') await this.write(`${dir}/${f}`, await this.read(`${above}/${f}`));
      }
    } else {
      for (const d of [above, dir]) {
        const enabled = await this.read(`${d}/cgroup.subtree_control`);
        if (!enabled.split(/\s+/).includes('cpuset')) await this.run(`enabling cpuset in ${d}`, ['sh', '-c', WRITE, 'write', '+cpuset', `${d}/cgroup.subtree_control`]);
      }
    }
  }
}
