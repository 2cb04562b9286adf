/**
 * Runs one catalog workload for one run: a run directory on each node (`<tmp>/isoscope/<run>/<label>`)
 * with the entry's input files, the command wrapped into each node's partition, launched on every
 * node (`each`) or as one mpirun over the nodes (`mpirun`, one app context per node so each rank is
 * wrapped into its own node's partition), output lines streamed as events, the figure of merit parsed.
 */
import type { PartitionDriver, PartitionState } from './drivers/driver.js';
import type { RecordEmitter } from './emitter.js';
import type { Nodes } from './nodes.js';
import type { CatalogEntry } from './catalog/schema.js';
import { fill } from './catalog/template.js';
import { parseResult, type FigureOfMerit } from './catalog/parsers/registry.js';
import type { ExecResult, NodeTransport } from './transport/transport.js';

export interface LaunchRequest {
  entry: CatalogEntry;
  /** Resolved parameter values (template.ts). */
  parameters: Record<string, string>;
  run: string;
  /** Distinguishes the workload and each background workload of the run (directory name). */
  label: string;
  role: 'workload' | 'background';
  nodes: string[];
  /** The partition the workload runs in, per node. */
  partitions: ReadonlyMap<string, PartitionState>;
  driver: (state: PartitionState) => PartitionDriver;
  timeoutMs: number;
  signal: AbortSignal;
  /** Autogroup nice of the command's session (experiment `autogroupNice`). */
  autogroupNice?: number;
}

/** Parent of the run directories on the nodes. */
export const DEFAULT_WORK_ROOT = '/tmp/isoscope';

export interface LaunchDeps {
  nodes: Nodes;
  emitter: RecordEmitter;
  /** Parent of the run directories on the nodes. @default /tmp/isoscope */
  workRoot?: string;
}

export async function launch(req: LaunchRequest, deps: LaunchDeps): Promise<FigureOfMerit | null> {
  const { entry } = req;
  const dir = `${deps.workRoot ?? DEFAULT_WORK_ROOT}/${req.run}/${req.label}`;
  const ranks = req.nodes.length * entry.launch.ranksPerNode;
  const values = (node: string) => ({
    ...req.parameters,
    nodes: req.nodes.map((n) => deps.nodes.mpiHost(n)).join(','),
    node_count: String(req.nodes.length),
    ranks: String(ranks),
    run_dir: dir,
    run: req.run,
    node,
  });
  const where = `workload ${entry.name}`;
  const argvFor = (node: string) => entry.command.map((w, i) => fill(w, values(node), `${where}: command[${i}]`));
  const envFor = (node: string) => Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, fill(v, values(node), `${where}: env.${k}`)]));
  const partition = (node: string) => {
    const p = req.partitions.get(node);
    if (!p) throw new Error(`${where}: node ${node} has no partition to run in`);
    return p;
  };

  // A partition that is a machine of its own (a kvm guest) runs the command itself; the run
  // directory is shared with it at the same path.
  const target = async (node: string): Promise<NodeTransport> => {
    const p = partition(node);
    const d = req.driver(p);
    const t = await deps.nodes.get(node);
    return d.connect ? d.connect(t, p) : t;
  };
  if (entry.launch.mode === 'mpirun' && req.nodes.some((n) => req.driver(partition(n)).connect)) {
    throw new Error(`${where}: launch mode mpirun cannot start ranks inside ${[...new Set(req.nodes.map((n) => partition(n).driver))].join(', ')} partitions; expected launch mode each`);
  }
  await Promise.all(req.nodes.map((n) => prepareDir(n, dir, entry, values(n), deps)));
  try {
    // Every exec is a session of its own (sshd / detached spawn), hence an autogroup of its own; so is
    // every node's MPI daemon (mpirun starts it over SSH), so each rank sets its session's nice too.
    const niced = (command: string[]) => (req.autogroupNice === undefined ? command : ['sh', '-c', 'echo "$0" > /proc/$$/autogroup || exit 126; exec "$@"', String(req.autogroupNice), ...command]);
    const exec = async (node: string, command: string[]): Promise<ExecResult> => {
      const t = await target(node);
      const argv = niced(command);
      const r = await t.exec(argv, {
        cwd: dir,
        env: envFor(node),
        timeoutMs: req.timeoutMs,
        signal: req.signal,
        onLine: (stream, line) => deps.emitter.output({ node, run: req.run, partition: partition(node).name, stream, line, workload: entry.name, role: req.role }),
      });
      if (r.code !== 0) {
        const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join(' | ');
        throw new Error(`${where} on node ${node} ${r.code === null ? `was killed by ${r.signal}` : `exited with code ${r.code}`}: ${tail || '(no output)'}`);
      }
      return r;
    };

    let outputs: { node: string; stdout: string }[];
    if (entry.launch.mode === 'mpirun') {
      const first = req.nodes[0]!;
      const rpn = String(entry.launch.ranksPerNode);
      const extra = entry.launch.mpirunArgs.map((w, i) => fill(w, values(first), `${where}: launch.mpirunArgs[${i}]`));
      const contexts = req.nodes.map((n) => [
        '-np', rpn, '--wdir', dir,
        ...(req.nodes.length > 1 ? ['--host', `${deps.nodes.mpiHost(n)}:${rpn}`] : []),
        ...niced(req.driver(partition(n)).wrap(partition(n), argvFor(n))),
      ]);
      const argv = ['mpirun', ...extra, ...contexts.flatMap((c, i) => (i ? [':', ...c] : c))];
      const r = await exec(first, argv);
      outputs = [{ node: first, stdout: r.stdout }];
    } else {
      outputs = await Promise.all(req.nodes.map(async (n) => ({ node: n, stdout: (await exec(n, req.driver(partition(n)).wrap(partition(n), argvFor(n)))).stdout })));
    }
    if (req.role === 'background' || !entry.result) return null;
    const figures = await Promise.all(outputs.map(async (o) => {
      const text = entry.result!.file ? await readResultFile(o.node, dir, fill(entry.result!.file, values(o.node), `${where}: result.file`), deps) : o.stdout;
      try {
        return parseResult(entry.result!.parser, text, {
          ...(entry.result!.metric ? { metric: fill(entry.result!.metric, values(o.node), `${where}: result.metric`) } : {}),
          ...(entry.result!.regex ? { regex: entry.result!.regex } : {}),
          ...(entry.result!.unit ? { unit: entry.result!.unit } : {}),
        });
      } catch (err) {
        throw new Error(`${where} on node ${o.node}: cannot read the figure of merit: ${(err as Error).message}`);
      }
    }));
    return combine(figures, entry.launch.aggregate);
  } finally {
    await Promise.all(req.nodes.map(async (n) => {
      const t = await deps.nodes.get(n).catch(() => null);
      await t?.exec(['rm', '-rf', '--', dir], { timeoutMs: 30_000 }).catch(() => undefined);
    }));
  }
}

async function prepareDir(node: string, dir: string, entry: CatalogEntry, values: Record<string, string>, deps: LaunchDeps): Promise<void> {
  const t = await deps.nodes.get(node);
  const mk = await t.exec(['mkdir', '-p', '--', dir], { timeoutMs: 30_000 });
  if (mk.code !== 0) throw new Error(`workload ${entry.name}: cannot create the run directory ${dir} on node ${node}: ${mk.stderr.trim()}`);
  for (const [name, template] of Object.entries(entry.files)) {
    const content = fill(template, values, `workload ${entry.name}: files.${name}`);
    const w = await t.exec(['sh', '-c', 'cat > "$1"', 'write', `${dir}/${name}`], { stdin: content, timeoutMs: 30_000 });
    if (w.code !== 0) throw new Error(`workload ${entry.name}: cannot write ${dir}/${name} on node ${node}: ${w.stderr.trim()}`);
  }
}

async function readResultFile(node: string, dir: string, pattern: string, deps: LaunchDeps): Promise<string> {
  const t = await deps.nodes.get(node);
  // The pattern comes from the catalog entry and may hold a glob (HPCG's dated report name); it is
  // expanded by the shell as a pattern only, never evaluated.
  const r = await t.exec(['sh', '-c', 'cd "$1" || exit 1; found=0; for f in $2; do [ -f "$f" ] && { cat -- "$f"; found=1; }; done; [ $found = 1 ]', 'read', dir, pattern], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`no result file ${pattern} in ${dir} on node ${node}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
  return r.stdout;
}

function combine(figures: FigureOfMerit[], how: 'sum' | 'mean' | 'min' | 'max'): FigureOfMerit {
  if (figures.length === 1) return figures[0]!;
  const values = figures.map((f) => f.value);
  const value = how === 'sum' ? values.reduce((a, b) => a + b, 0) : how === 'mean' ? values.reduce((a, b) => a + b, 0) / values.length : how === 'min' ? Math.min(...values) : Math.max(...values);
  return { value, unit: figures[0]!.unit, figures: { ...figures[0]!.figures, per_node: values.length }, ...(figures[0]!.units ? { units: figures[0]!.units } : {}) };
}
