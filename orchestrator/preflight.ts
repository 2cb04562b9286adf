/**
 * Checks the whole matrix before the first run starts, and reports every problem at once with the
 * file and field it comes from: catalog entries and their parameters (workload and background),
 * partition drivers and their options, node reachability, the tools each node needs (`command -v`:
 * the workloads' commands, mpirun, a managed collector's command, and what each partition driver
 * runs there: kvm's QEMU and taskset, the Pisces tools, Palacios's v3_* tools and launcher),
 * the cgroup hierarchies the cpuset and kvm drivers and per-partition counting need, the CPUs (every
 * partition's `cpus` within its node's `cpus` (node-cpus.ts), a node's `cpus` present on its machine,
 * a cpuset or kvm partition's CPUs online there), and which
 * of the `measure:` perf events each node's collector can open (probed by the collector's own code on
 * the node): an event the file asks for that a node cannot count is a problem; one of the default
 * set (counted "where supported") is a note.
 */
import type { Catalog } from './catalog/load.js';
import { fill, resolveParameters } from './catalog/template.js';
import { availableDrivers } from './drivers/registry.js';
import { DRIVER_OPTIONS } from './drivers/options.js';
import { driverTools } from './drivers/tools.js';
import { detectHierarchy, detectPerfMount } from './drivers/linux-cpuset/hierarchy.js';
import type { LoadedExperiment } from './experiment/load.js';
import { formatPath } from './experiment/load.js';
import type { Cell } from './experiment/matrix.js';
import { mapLimited } from './limit.js';
import type { Nodes } from './nodes.js';
import type { EventProbe } from '../collectors/perf/probe.js';
import { hostCpus, orderedCpus } from './node-cpus.js';
import { expandCpuList, formatCpuList } from '../core/cpu-list.js';

export interface PreflightOptions {
  experiment: LoadedExperiment;
  catalog: Catalog;
  nodes: Nodes;
  /** The cells about to run. */
  cells: readonly Cell[];
  /** argv[0] of each node's managed collector process, when the orchestrator will start one there. */
  collectorCommand?: (node: string) => string | null;
  /** Which perf events the node's collector can open; null when the orchestrator starts none there. */
  probeEvents?: (node: string, events: readonly string[]) => Promise<EventProbe | null>;
  /** Lines worth saying before the first run that do not stop it (default events a node cannot count). */
  note?: (line: string) => void;
}

/** Every problem found, as `FILE: field: what`; empty when the matrix can start. */
export async function preflight(o: PreflightOptions): Promise<string[]> {
  const { spec, file } = o.experiment;
  const problems: string[] = [];
  const at = (field: string, what: string) => problems.push(`${file}: ${field}: ${what}`);
  const withBackground = o.cells.some((c) => c.background);

  // Workload and background entries and their parameters.
  const entries = [{ field: 'workload', w: spec.workload as { entry: string; parameters: Record<string, string | number | boolean> } }, ...(withBackground ? spec.background.map((b, i) => ({ field: `background[${i}]`, w: b })) : [])];
  const commands = new Map<string, { tool: string; field: string }[]>(); // field → tools (and the field naming each)
  const recipes = new Map<string, string>(); // tool → how to get it, for entries no package ships (their `build`)
  for (const { field, w } of entries) {
    const entry = o.catalog.entries.get(w.entry);
    if (!entry) {
      at(`${field}.entry`, `no catalog entry "${w.entry}" (entries: ${[...o.catalog.entries.keys()].sort().join(', ')})`);
      continue;
    }
    let params: Record<string, string> | null = null;
    try {
      params = resolveParameters(entry, w.parameters);
    } catch (err) {
      at(`${field}.parameters`, (err as Error).message.replace(`workload ${entry.name}: `, `${entry.name}: `));
    }
    const tools: string[] = [];
    if (params) {
      try {
        tools.push(fill(entry.command[0]!, { ...params, nodes: '', node_count: '1', ranks: '1', run_dir: '/tmp', run: 'r', node: 'n' }, `${field}: command[0]`));
      } catch {
        // a command built from run-time values only: nothing to look up beforehand
      }
    }
    if (entry.launch.mode === 'mpirun') tools.push('mpirun');
    if (entry.build && tools[0]) recipes.set(tools[0], `${entry.name} is not packaged: build it on every node from its public source as \`build:\` in ${o.catalog.entries.get(entry.name)?.file ?? 'its catalog entry'} says`);
    commands.set(field, tools.map((tool) => ({ tool, field })));
  }

  // Drivers and their options, for the stacks the cells use.
  const toolFields: [string, string][] = []; // node → partition field (its driver's tools)
  const stacks = new Set(o.cells.map((c) => c.stack));
  const drivers = availableDrivers();
  spec.stacks.forEach((s, si) => {
    if (!stacks.has(s.name)) return;
    s.partitions.forEach((p, pi) => {
      const field = `stacks[${si}].partitions[${pi}]`;
      if (!drivers.includes(p.driver)) return void at(`${field}.driver`, `partition driver "${p.driver}" is not available in this build (available: ${drivers.join(', ')})`);
      const parsed = DRIVER_OPTIONS[p.driver]?.safeParse(p.options);
      if (parsed && !parsed.success) for (const i of parsed.error.issues) at(`${field}.options${i.path.length ? `.${formatPath(i.path)}` : ''}`, i.message);
      // The programs the driver runs on the node (QEMU, the Pisces and Palacios tools …).
      if (!parsed?.success) return;
      const parentSpec = p.parent === undefined ? undefined : s.partitions.find((x) => x.name === p.parent);
      const parentParsed = parentSpec ? DRIVER_OPTIONS[parentSpec.driver]?.safeParse(parentSpec.options) : undefined;
      const tools = driverTools(p.driver, parsed.data, parentSpec && parentParsed?.success ? { driver: parentSpec.driver, options: parentParsed.data } : undefined);
      if (!tools.length) return;
      commands.set(field, tools.map((t) => ({ tool: t.tool, field: `${field}.${t.field}` })));
      for (const c of o.cells) if (c.stack === s.name) for (const n of new Set([...c.nodes, ...(c.background ? spec.background.flatMap((b) => b.nodes ?? c.nodes) : [])])) if (!p.nodes || p.nodes.includes(n)) toolFields.push([n, field]);
    });
  });

  // Nodes: reachable, their tools, their cgroup hierarchies.
  const used = new Map<string, Set<string>>(); // node → fields whose tools it needs
  const need = (node: string, field: string) => used.set(node, (used.get(node) ?? new Set()).add(field));
  for (const c of o.cells) {
    for (const n of c.nodes) need(n, 'workload');
    if (c.background) spec.background.forEach((b, i) => (b.nodes ?? c.nodes).forEach((n) => need(n, `background[${i}]`)));
  }
  const cpusetNodes = new Set<string>();
  for (const c of o.cells) {
    const stack = spec.stacks.find((s) => s.name === c.stack);
    for (const p of stack?.partitions ?? []) if (p.driver === 'linux-cpuset' || p.driver === 'kvm') for (const n of used.keys()) if (!p.nodes || p.nodes.includes(n)) cpusetNodes.add(n);
  }
  for (const [n, field] of toolFields) need(n, field);

  // CPUs: each partition's `cpus` in its node's numbering; the machine's CPUs cpusets and VMs need online.
  const onlineNeeded = new Map<string, Map<number, string>>(); // node → machine CPU → partition field
  const cpuProblems = new Set<string>();
  for (const c of o.cells) {
    const si = spec.stacks.findIndex((s) => s.name === c.stack);
    const cellNodes = new Set([...c.nodes, ...(c.background ? spec.background.flatMap((b) => b.nodes ?? c.nodes) : [])]);
    spec.stacks[si]?.partitions.forEach((p, pi) => {
      for (const n of cellNodes) {
        if (p.nodes && !p.nodes.includes(n)) continue;
        const field = `stacks[${si}].partitions[${pi}].cpus`;
        let cpus: string;
        try {
          cpus = hostCpus(spec.nodes.find((x) => x.name === n)?.cpus, p.cpus);
        } catch (err) {
          cpuProblems.add(`${field}: on node ${n}: ${(err as Error).message}`);
          continue;
        }
        if (p.driver !== 'linux-cpuset' && p.driver !== 'kvm') continue;
        const m = onlineNeeded.get(n) ?? new Map<number, string>();
        for (const cpu of expandCpuList(cpus)) if (!m.has(cpu)) m.set(cpu, field);
        onlineNeeded.set(n, m);
      }
    });
  }
  for (const p of cpuProblems) at(p.slice(0, p.indexOf(': ')), p.slice(p.indexOf(': ') + 2));
  const nodeField = (n: string) => `nodes[${spec.nodes.findIndex((x) => x.name === n)}] (${n})`;
  const perNode = await mapLimited([...used.keys()], spec.concurrency, async (n) => {
    const out: string[] = [];
    let t;
    try {
      t = await o.nodes.get(n);
    } catch (err) {
      return [`${nodeField(n)}: unreachable: ${(err as Error).message}`];
    }
    const tools = new Map<string, string>(); // tool → who needs it
    for (const field of used.get(n)!) for (const { tool, field: by } of commands.get(field) ?? []) if (!tools.has(tool)) tools.set(tool, by);
    const collector = o.collectorCommand?.(n);
    if (collector) tools.set(collector, `${nodeField(n).replace(/ \(.*/, '')}.collector.command`);
    const missingTools = new Set<string>();
    if (tools.size) {
      // A name is looked up on PATH; a path must be an executable file.
      const r = await t.exec(['sh', '-c', 'for t in "$@"; do case "$t" in */*) [ -f "$t" ] && [ -x "$t" ] || echo "$t";; *) command -v -- "$t" >/dev/null 2>&1 || echo "$t";; esac; done', 'check', ...tools.keys()], { timeoutMs: 30_000 });
      for (const missing of r.stdout.split('\n').filter(Boolean)) {
        missingTools.add(missing);
        out.push(missing.includes('/')
          ? `${nodeField(n)}: tool "${missing}" is not there or not executable, needed by ${tools.get(missing) ?? '?'}`
          : `${nodeField(n)}: tool "${missing}" is not installed (command -v found nothing), needed by ${tools.get(missing) ?? '?'}${recipes.has(missing) ? ` (${recipes.get(missing)})` : ''}`);
      }
    }
    const perf = spec.measure.enabled ? spec.measure.perf : false;
    if (perf && o.probeEvents && !(collector && missingTools.has(collector))) {
      try {
        const probe = await o.probeEvents(n, perf.events);
        if (probe) {
          const why = (u: { event: string; reason: string }) => u.reason.replace(new RegExp(`^${u.event.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), '');
          if (o.experiment.perfEventsGiven) {
            for (const u of probe.unsupported) out.push(`measure.perf.events[${perf.events.indexOf(u.event)}] ("${u.event}"): ${nodeField(n)} cannot count it: ${why(u)}`);
          } else if (probe.unsupported.length) {
            o.note?.(`${file}: ${nodeField(n)}: of the default measure.perf.events, ${probe.unsupported.length} cannot be counted there and are left out: ${probe.unsupported.map((u) => `${u.event} (${why(u)})`).join('; ')}; counting ${probe.counting.join(', ') || 'none'}`);
          }
        }
      } catch (err) {
        o.note?.(`${file}: ${nodeField(n)}: could not probe which perf events its collector can count: ${(err as Error).message}`);
      }
    }
    const share = spec.nodes.find((x) => x.name === n)?.cpus;
    if (share !== undefined || onlineNeeded.has(n)) out.push(...await checkCpus(t, nodeField(n).replace(/ \(.*/, ''), n, share, onlineNeeded.get(n)));
    if (cpusetNodes.has(n)) {
      await detectHierarchy(t).catch((err: Error) => out.push(`${nodeField(n)}: ${err.message}`));
      if (perf && perf.partitions) {
        const perfMount = await detectPerfMount(t).catch(() => null);
        if (!perfMount) out.push(`${nodeField(n)}: no cgroup hierarchy for perf_event (neither a v1 perf_event mount nor cgroup2) to count partitions in; set measure.perf.partitions: false to count only node-wide`);
      }
    }
    return out;
  });
  for (const r of perNode) if (r.status === 'fulfilled') problems.push(...r.value.map((p) => `${file}: ${p}`));
  else problems.push(`${file}: ${(r.reason as Error).message}`);
  return problems;
}

/** A node's `cpus` against the CPUs present on its machine, and the machine CPUs partitions need online. */
async function checkCpus(t: { exec: (argv: string[], o: { timeoutMs: number }) => Promise<{ code: number | null; stdout: string }> }, at: string, node: string, share: string | undefined, needed: Map<number, string> | undefined): Promise<string[]> {
  const r = await t.exec(['cat', '/sys/devices/system/cpu/present', '/sys/devices/system/cpu/online'], { timeoutMs: 30_000 });
  const [present, online] = r.stdout.split('\n').map((l) => l.trim());
  if (r.code !== 0 || !present || !online) return [`${at} (${node}): cannot read /sys/devices/system/cpu/present and online to check the CPUs partitions use (exit ${r.code})`];
  const out: string[] = [];
  const presentSet = new Set(expandCpuList(present));
  const onlineSet = new Set(expandCpuList(online));
  if (share !== undefined) {
    const absent = orderedCpus(share).filter((c) => !presentSet.has(c));
    if (absent.length) out.push(`${at}.cpus (${node}): "${share}" names CPU ${formatCpuList(absent)}, which the machine does not have (present: ${present})`);
  }
  const byField = new Map<string, number[]>();
  for (const [cpu, field] of needed ?? []) if (!onlineSet.has(cpu) && presentSet.has(cpu)) byField.set(field, [...(byField.get(field) ?? []), cpu]);
  for (const [cpu, field] of needed ?? []) if (!presentSet.has(cpu) && share === undefined) byField.set(field, [...(byField.get(field) ?? []), cpu]);
  for (const [field, cpus] of byField) out.push(`${field}: on ${node}: CPU ${formatCpuList(cpus)} ${cpus.length === 1 ? 'is' : 'are'} not online there (online: ${online})${share !== undefined ? ` (the node's cpus: "${share}")` : ''}`);
  return out;
}
