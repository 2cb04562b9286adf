/**
 * The orchestrator's main loop: expands the matrix, skips cells the journal says finished, and runs
 * each remaining cell as one run: partitions on its nodes (bounded concurrency), background workloads,
 * the workload, tear-down in reverse, with a `runs` record at start and end and a `partitions` record
 * per step. A restart first closes what a crash left open (recovery.ts). Cells run one after another;
 * a cell whose node cannot be reached fails with that reason and the matrix goes on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BusProducer } from '../bus/bus.js';
import { nowNs } from '../core/clock.js';
import { ISOSCOPE_VERSION } from '../core/version.js';
import type { PartitionDriver, PartitionState } from './drivers/driver.js';
import { driverFor } from './drivers/registry.js';
import { RecordEmitter } from './emitter.js';
import { Journal, journalPath } from './journal.js';
import { DEFAULT_WORK_ROOT, launch } from './launch.js';
import { mapLimited } from './limit.js';
import { Nodes } from './nodes.js';
import { cancelRequested, clearCancel } from './cancel.js';
import { recover } from './recovery.js';
import { resolveParameters } from './catalog/template.js';
import type { Catalog } from './catalog/load.js';
import { expandMatrix, type Cell } from './experiment/matrix.js';
import type { LoadedExperiment } from './experiment/load.js';
import { cellRecord, partitionsFor, runId } from './cell.js';
import { Measurement, type MeasurementOptions } from './measure/measurement.js';
import { preflight } from './preflight.js';
import { UserError } from '../core/errors.js';
import { renameSync } from 'node:fs';

export interface RunSummary {
  run: string;
  cell: string;
  phase: 'end' | 'fail' | 'abort';
  result: number | null;
  unit: string | null;
  message: string | null;
  /** Wall time of the whole run: partitions, background warm-up, workload, teardown. */
  seconds: number;
  /** Wall time of the workload alone (launch to exit), null when it never started. */
  workloadSeconds: number | null;
}

export type Progress =
  | { type: 'plan'; total: number; skipped: number; recovered: number }
  | { type: 'start'; run: string; cell: Cell; index: number; total: number }
  | { type: 'step'; run: string; message: string }
  | { type: 'end'; summary: RunSummary };

export interface RunnerOptions {
  experiment: LoadedExperiment;
  catalog: Catalog;
  producer: BusProducer;
  stateDir: string;
  /** Aborting stops the current run (recorded `abort`) and the matrix. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Parent of run directories on nodes. @default /tmp/isoscope */
  workRoot?: string;
  /**
   * Runs the experiment's measurement (`measure:`): collectors on its nodes, partitions handed to
   * them, samples checked for. Absent: the orchestrator starts no collector.
   */
  measure?: Pick<MeasurementOptions, 'bus' | 'kafkaBrokers' | 'stateDir' | 'httpListen' | 'handoverTimeoutMs' | 'arrivalTimeoutMs'>;
  /** The experiment file changed since its journal's runs: start the new version's matrix (else that is refused). */
  newVersion?: boolean;
}

export class Runner {
  private readonly nodes: Nodes;
  private readonly emitter: RecordEmitter;
  private readonly drivers = new Map<string, PartitionDriver>();
  private readonly active = new Map<string, AbortController>();

  private readonly measurement: Measurement | null;

  constructor(private readonly o: RunnerOptions) {
    this.nodes = new Nodes(o.experiment.spec.nodes);
    const identity = (node: string) => o.experiment.spec.nodes.find((n) => n.name === node)?.collector?.reports ?? node;
    this.emitter = new RecordEmitter(o.producer, identity);
    this.measurement = o.measure && o.experiment.spec.measure.enabled
      ? new Measurement({ ...o.measure, experiment: o.experiment, nodes: this.nodes, emitter: this.emitter, producer: o.producer })
      : null;
  }

  /** Runs ids currently running. */
  get running(): string[] {
    return [...this.active.keys()];
  }

  /** Cancels one running run (it is recorded `abort`); false when it is not running here. */
  cancel(run: string): boolean {
    const ac = this.active.get(run);
    ac?.abort(new Error(`run ${run} was cancelled`));
    return !!ac;
  }

  async execute(): Promise<RunSummary[]> {
    const { spec, specHash, file } = this.o.experiment;
    const path = journalPath(this.o.stateDir, spec.experiment);
    const before = Journal.replay(path);
    // A journal of another version of the file: its finished cells say nothing about this one.
    const changed = before.hasRuns && before.specHash !== null && before.specHash !== specHash;
    if (changed && !this.o.newVersion) {
      throw new UserError(`${file} changed since the runs in its journal (${path}): spec_hash ${before.specHash!.slice(0, 12)}… then, ${specHash.slice(0, 12)}… now. Run it with --new-version to start this version's matrix beside the old runs (they stay, as version ${before.specHash!.slice(0, 12)}), or with --fresh to start over.`);
    }
    const problems = await preflight({
      experiment: this.o.experiment, catalog: this.o.catalog, nodes: this.nodes,
      cells: expandMatrix(spec).filter((c) => changed || !before.finished.has(c.key)),
      collectorCommand: (n) => this.measurement?.processCommand(n) ?? null,
      probeEvents: (n, events) => this.measurement?.probeEvents(n, events) ?? Promise.resolve(null),
      note: (line) => this.progress({ type: 'step', run: '-', message: `preflight: ${line}` }),
    });
    if (problems.length) {
      await this.nodes.shutdown();
      throw new UserError(`preflight found ${problems.length} problem${problems.length === 1 ? '' : 's'}; no run was started:\n  ${problems.join('\n  ')}`);
    }
    let journal = new Journal(path);
    const summaries: RunSummary[] = [];
    try {
      const recovered = await recover(Journal.replay(path), { journal, emitter: this.emitter, nodes: this.nodes, driver: (s) => this.driver(s), experiment: this.o.experiment, progress: (m) => this.progress({ type: 'step', run: '-', message: m }), removeRunDirs: (run, nodes) => this.removeRunDirs(run, nodes) });
      if (changed) {
        // Leftovers of the old version were destroyed above; its journal is kept beside the new one.
        journal.close();
        renameSync(path, `${path}.${before.specHash!.slice(0, 12)}.${new Date().toISOString().replace(/[:.]/g, '-')}`);
        journal = new Journal(path);
        this.progress({ type: 'step', run: '-', message: `${file} changed (spec_hash ${before.specHash!.slice(0, 12)}… → ${specHash.slice(0, 12)}…): starting the matrix of the new version` });
      }
      if (changed || before.specHash !== specHash) journal.append({ t: 'experiment', spec_hash: specHash, file, ts: String(nowNs()) });
      const { finished } = Journal.replay(path);
      const cells = expandMatrix(spec);
      const todo = cells.filter((c) => !finished.has(c.key));
      this.progress({ type: 'plan', total: cells.length, skipped: cells.length - todo.length, recovered });
      for (const [i, cell] of todo.entries()) {
        if (this.o.signal?.aborted) break;
        const summary = await this.runCell(cell, journal, cells.indexOf(cell), cells.length);
        summaries.push(summary);
        this.progress({ type: 'end', summary });
        if (this.o.signal?.aborted) break;
        if (i < todo.length - 1 && spec.matrix.cooldownSeconds > 0) await sleep(spec.matrix.cooldownSeconds * 1000, undefined, this.o.signal ? { signal: this.o.signal } : {}).catch(() => undefined);
      }
    } finally {
      journal.close();
      await this.measurement?.stop().catch(() => undefined);
      await this.emitter.flush().catch(() => undefined);
      await this.nodes.shutdown();
    }
    return summaries;
  }

  private progress(p: Progress): void {
    this.o.onProgress?.(p);
  }

  private driver(state: Pick<PartitionState, 'driver'>): PartitionDriver {
    let d = this.drivers.get(state.driver);
    if (!d) {
      d = driverFor(state.driver);
      this.drivers.set(state.driver, d);
    }
    return d;
  }

  private async runCell(cell: Cell, journal: Journal, index: number, total: number): Promise<RunSummary> {
    const { spec, specHash } = this.o.experiment;
    const run = runId(spec.experiment, cell);
    const t0 = Date.now();
    const ac = new AbortController();
    this.active.set(run, ac);
    const onOuter = () => ac.abort(this.o.signal?.reason ?? new Error('the orchestrator was stopped'));
    this.o.signal?.addEventListener('abort', onOuter, { once: true });
    const poll = setInterval(() => { if (cancelRequested(this.o.stateDir, run)) ac.abort(new Error(`run ${run} was cancelled (isoscope cancel)`)); }, 300);
    const step = (message: string) => this.progress({ type: 'step', run, message });
    const workloadEntry = this.o.catalog.get(spec.workload.entry);
    const bgEntries = cell.background ? spec.background.map((b) => ({ b, entry: this.o.catalog.get(b.entry) })) : [];
    const usedNodes = [...new Set([...cell.nodes, ...bgEntries.flatMap(({ b }) => b.nodes ?? cell.nodes)])];
    const provenance: Record<string, unknown> = {
      cell: cell.key,
      spec_hash: specHash,
      experiment_file: this.o.experiment.file,
      catalog_entry: workloadEntry.name,
      catalog_version: workloadEntry.version,
      workload_partition: spec.workload.partition,
      isoscope_version: ISOSCOPE_VERSION,
      parameters: spec.workload.parameters,
      background_workloads: bgEntries.map(({ b, entry }) => ({ entry: entry.name, version: entry.version, parameters: b.parameters, partition: b.partition, nodes: b.nodes ?? cell.nodes })),
      drivers: [...new Set(spec.stacks.find((s) => s.name === cell.stack)!.partitions.map((p) => p.driver))],
      used_nodes: usedNodes,
    };
    this.progress({ type: 'start', run, cell, index, total });
    journal.append({ t: 'run', phase: 'start', run, cell: cell.key, nodes: usedNodes, ts: String(nowNs()) });
    await this.emitter.run(cellRecord(spec, cell, run, 'start', provenance));

    const created: PartitionState[] = [];
    let phase: RunSummary['phase'] = 'end';
    let message: string | null = null;
    let result: { value: number; unit: string; figures?: Record<string, number>; units?: Record<string, string> } | null = null;
    let workloadSeconds: number | null = null;
    try {
      const params = resolveParameters(workloadEntry, spec.workload.parameters);
      const bgParams = bgEntries.map(({ b, entry }) => resolveParameters(entry, b.parameters));
      step(`connecting to ${usedNodes.join(', ')}`);
      const kernels = await mapLimited(usedNodes, spec.concurrency, async (n) => [n, await this.nodes.kernel(n)] as const);
      const unreachable = kernels.filter((k) => k.status === 'rejected').map((k) => ((k as PromiseRejectedResult).reason as Error).message);
      if (unreachable.length) throw new Error(unreachable.join('; '));
      provenance.kernel = Object.fromEntries(kernels.map((k) => (k as PromiseFulfilledResult<readonly [string, string]>).value));
      const m = this.measurement;
      if (m) {
        step(`collectors on ${usedNodes.join(', ')}`);
        const started = await Promise.allSettled(usedNodes.map((n) => m.ensure(n)));
        const down = started.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as Error).message);
        if (down.length) throw new Error(down.join('; '));
        provenance.measure = { interval_ms: spec.measure.intervalMs, collectors: m.describe(usedNodes) };
        step('waiting for samples from the collectors');
        await m.checkArrivals(usedNodes, ac.signal);
      }

      // Partitions: per node in order (parents first), nodes in parallel up to the bound.
      const perNode = partitionsFor(spec, cell, usedNodes);
      const results = await mapLimited([...perNode.entries()], spec.concurrency, async ([node, specs]) => {
        const t = await this.nodes.get(node);
        const siblings = new Map<string, PartitionState>();
        for (const p of specs) {
          if (ac.signal.aborted) throw ac.signal.reason as Error;
          step(`creating partition ${p.name} on ${node}`);
          let state: PartitionState;
          try {
            state = await this.driver(p).create(t, p, { experiment: spec.experiment, run, log: step, signal: ac.signal, siblings, workRoot: this.workRoot(), checkpoint: (partial) => journal.append({ t: 'partition', run, state: partial }) });
          } catch (err) {
            await this.emitter.partition({ name: p.name, node, driver: p.driver, cpus: p.cpus, memMb: p.memMb, numa: p.numa ?? null, devices: p.devices ?? [], handle: {} }, 'fail', run, (err as Error).message).catch(() => undefined);
            throw err;
          }
          journal.append({ t: 'partition', run, state });
          created.push(state);
          siblings.set(p.name, state);
          await this.emitter.partition(state, 'create', run, state.note ?? null);
          if (state.provenance) provenance.partitions = [...((provenance.partitions as unknown[] | undefined) ?? []), { partition: state.name, node, driver: state.driver, ...state.provenance }];
        }
      });
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
      if (m) {
        step('handing the partitions to the collectors');
        const acks = await m.handOver(created, run, (s) => this.driver(s));
        provenance.partition_counters = Object.fromEntries(Object.entries(acks).map(([k, a]) => [k, { counting: a.counting, unsupported: a.unsupported.map((u) => u.event), cgroups: a.labels, ...(a.error ? { error: a.error } : {}) }]));
      }

      const inPartition = (name: string, nodes: string[]) => new Map(nodes.map((n) => [n, created.find((s) => s.node === n && s.name === name)!]));
      const bgAc = new AbortController();
      const stopBg = () => bgAc.abort();
      ac.signal.addEventListener('abort', stopBg, { once: true });
      let bgError: Error | null = null;
      const bgRuns = bgEntries.map(({ b, entry }, i) =>
        launch({ entry, parameters: bgParams[i]!, run, label: `background-${i}`, role: 'background', nodes: b.nodes ?? cell.nodes, partitions: inPartition(b.partition, b.nodes ?? cell.nodes), driver: (s) => this.driver(s), timeoutMs: 7 * 24 * 3600_000, signal: bgAc.signal, ...this.nice() }, this.deps())
          .then(() => { if (!bgAc.signal.aborted) bgError ??= new Error(`background workload ${entry.name} ended before the workload did`); })
          .catch((err: Error) => { if (!bgAc.signal.aborted) bgError ??= new Error(`background workload ${entry.name} failed: ${err.message}`); }));
      try {
        if (bgRuns.length) {
          step(`background ${bgEntries.map(({ entry }) => entry.name).join(', ')} warming up`);
          await sleep(spec.matrix.warmupSeconds * 1000, undefined, { signal: ac.signal }).catch(() => undefined);
          if (bgError) throw bgError;
        }
        if (ac.signal.aborted) throw ac.signal.reason as Error;
        step(`running ${workloadEntry.name} on ${cell.nodes.join(', ')}`);
        const w0 = Date.now();
        try {
          result = await launch({ entry: workloadEntry, parameters: params, run, label: 'workload', role: 'workload', nodes: cell.nodes, partitions: inPartition(spec.workload.partition, cell.nodes), driver: (s) => this.driver(s), timeoutMs: spec.matrix.timeoutSeconds * 1000, signal: ac.signal, ...this.nice() }, this.deps());
        } finally {
          workloadSeconds = (Date.now() - w0) / 1000;
        }
        if (bgError) throw bgError;
      } finally {
        bgAc.abort();
        await Promise.all(bgRuns);
      }
      if (result?.figures) provenance.figures = result.figures;
      if (result?.units) provenance.figure_units = result.units;
    } catch (err) {
      phase = ac.signal.aborted ? 'abort' : 'fail';
      message = ac.signal.aborted ? ((ac.signal.reason as Error)?.message ?? 'aborted') : (err as Error).message;
      result = null;
    } finally {
      clearInterval(poll);
      this.o.signal?.removeEventListener('abort', onOuter);
    }

    if (this.measurement) {
      await this.measurement.withdraw(created, run, (s) => this.driver(s));
      provenance.collector_restarts = await this.measurement.restarts(usedNodes);
    }
    const leaked = await this.teardown(created, run, journal, step);
    await this.removeRunDirs(run, usedNodes);
    if (leaked.length) {
      message = [message, `partitions not removed: ${leaked.join('; ')}`].filter(Boolean).join('; ');
      if (phase === 'end') phase = 'fail';
    }
    await this.emitter.flush().catch(() => undefined);
    await this.emitter.run({ ...cellRecord(spec, cell, run, phase, provenance), result: result?.value ?? null, unit: result?.unit ?? null, message });
    journal.append({ t: 'run', phase, run, cell: cell.key, ts: String(nowNs()) });
    this.active.delete(run);
    clearCancel(this.o.stateDir, run);
    return { run, cell: cell.key, phase, result: result?.value ?? null, unit: result?.unit ?? null, message, seconds: (Date.now() - t0) / 1000, workloadSeconds };
  }

  /** Destroys partitions in reverse creation order (per node, nodes in parallel); returns what failed. */
  private async teardown(created: PartitionState[], run: string, journal: Journal, step: (m: string) => void): Promise<string[]> {
    const byNode = new Map<string, PartitionState[]>();
    for (const s of created) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s]);
    const leaked: string[] = [];
    await mapLimited([...byNode.entries()], this.o.experiment.spec.concurrency, async ([node, states]) => {
      for (const s of [...states].reverse()) {
        try {
          step(`destroying partition ${s.name} on ${node}`);
          await this.driver(s).destroy(await this.nodes.get(node), s, { experiment: this.o.experiment.spec.experiment, run, log: step, siblings: new Map(), workRoot: this.workRoot() });
          journal.append({ t: 'partition-destroyed', run, node, name: s.name });
          await this.emitter.partition(s, 'destroy', run);
        } catch (err) {
          leaked.push(`${s.name} on ${node}: ${(err as Error).message}`);
          await this.emitter.partition(s, 'fail', run, `destroy failed: ${(err as Error).message}`).catch(() => undefined);
        }
      }
    });
    return leaked;
  }

  /** Removes `<workRoot>/<run>` on the nodes (the workload directories inside are gone already). */
  private async removeRunDirs(run: string, nodes: readonly string[]): Promise<void> {
    await mapLimited(nodes, this.o.experiment.spec.concurrency, async (n) => {
      const t = await this.nodes.get(n);
      await t.exec(['rm', '-rf', '--', `${this.workRoot()}/${run}`], { timeoutMs: 30_000 });
    });
  }

  private workRoot(): string {
    return this.o.workRoot ?? DEFAULT_WORK_ROOT;
  }

  private nice(): { autogroupNice?: number } {
    const n = this.o.experiment.spec.autogroupNice;
    return n === undefined ? {} : { autogroupNice: n };
  }

  private deps() {
    return { nodes: this.nodes, emitter: this.emitter, ...(this.o.workRoot ? { workRoot: this.o.workRoot } : {}) };
  }
}
