/**
 * The orchestrator's HTTP API (hono): submit an experiment, list and get runs, cancel a run. Reading
 * is open to loopback clients; submitting and cancelling always need the bearer token (query/auth.ts).
 *   POST /api/experiments        body: the experiment YAML (text/yaml or {"yaml": "…"}) → 202
 *   GET  /api/runs               runs this orchestrator started (running and finished)
 *   GET  /api/runs/:run
 *   POST /api/runs/:run/cancel
 */
import { Hono } from 'hono';
import { requireAccess } from '../../query/auth.js';
import type { BusProducer } from '../../bus/bus.js';
import { parseExperiment, type LoadedExperiment } from '../experiment/load.js';
import type { Catalog } from '../catalog/load.js';
import { Runner, type Progress } from '../runner.js';
import { requestCancel } from '../cancel.js';

export interface RunView {
  run: string;
  experiment: string;
  cell: string;
  state: 'running' | 'end' | 'fail' | 'abort';
  step: string | null;
  result: number | null;
  unit: string | null;
  message: string | null;
}

export interface OrchestratorAppOptions {
  token: string | undefined;
  producer: BusProducer;
  catalog: Catalog;
  stateDir: string;
  /** Where submitted experiment files are kept (provenance: experiment_file). */
  submitDir: string;
  saveSubmitted: (experiment: string, yaml: string) => string;
}

export function orchestratorApp(o: OrchestratorAppOptions) {
  const runs = new Map<string, RunView>();
  const runners = new Map<string, { runner: Runner; done: Promise<unknown>; stop: AbortController }>();
  const track = (experiment: string) => (p: Progress) => {
    if (p.type === 'start') runs.set(p.run, { run: p.run, experiment, cell: p.cell.key, state: 'running', step: null, result: null, unit: null, message: null });
    else if (p.type === 'step') { const r = runs.get(p.run); if (r) r.step = p.message; }
    else if (p.type === 'end') { const r = runs.get(p.summary.run); if (r) Object.assign(r, { state: p.summary.phase, step: null, result: p.summary.result, unit: p.summary.unit, message: p.summary.message }); }
  };

  const app = new Hono()
    .post('/api/experiments', requireAccess(o.token, false), async (c) => {
      const type = c.req.header('content-type') ?? '';
      const yaml = type.includes('json') ? ((await c.req.json()) as { yaml?: unknown }).yaml : await c.req.text();
      if (typeof yaml !== 'string' || !yaml.trim()) return c.json({ error: 'expected the experiment as YAML (content-type text/yaml) or {"yaml": "…"}' }, 400);
      let experiment: LoadedExperiment;
      try {
        experiment = parseExperiment(yaml, 'submitted experiment', { allowInclude: false });
      } catch (err) {
        return c.json({ error: (err as Error).message }, 400);
      }
      const name = experiment.spec.experiment;
      if (runners.has(name)) return c.json({ error: `experiment ${name} is already running here` }, 409);
      experiment.file = o.saveSubmitted(name, yaml);
      const stop = new AbortController();
      const runner = new Runner({ experiment, catalog: o.catalog, producer: o.producer, stateDir: o.stateDir, onProgress: track(name), signal: stop.signal });
      const done = runner.execute()
        .catch((err: Error) => {
          // The orchestrator itself failed (e.g. the bus refused a record): its open runs end with it.
          for (const r of runs.values()) if (r.experiment === name && r.state === 'running') Object.assign(r, { state: 'fail', step: null, message: `the orchestrator failed: ${err.message}` });
        })
        .finally(() => runners.delete(name));
      runners.set(name, { runner, done, stop });
      return c.json({ experiment: name, accepted: true, specHash: experiment.specHash }, 202);
    })
    .get('/api/runs', requireAccess(o.token, true), (c) => c.json({ runs: [...runs.values()] }))
    .get('/api/runs/:run', requireAccess(o.token, true), (c) => {
      const r = runs.get(c.req.param('run'));
      return r ? c.json(r) : c.json({ error: `no run ${c.req.param('run')} on this orchestrator` }, 404);
    })
    .post('/api/runs/:run/cancel', requireAccess(o.token, false), (c) => {
      const run = c.req.param('run');
      for (const { runner } of runners.values()) if (runner.cancel(run)) return c.json({ run, cancelled: true });
      const r = runs.get(run);
      if (r && r.state !== 'running') return c.json({ error: `run ${run} is not running (it ended: ${r.state})` }, 409);
      try {
        requestCancel(o.stateDir, run); // a run of another orchestrator process on this state directory
      } catch (err) {
        return c.json({ error: (err as Error).message }, 400);
      }
      return c.json({ run, cancelled: 'requested' }, 202);
    });

  return Object.assign(app, {
    /** Waits for every submitted experiment to finish (tests, shutdown). */
    idle: () => Promise.all([...runners.values()].map((r) => r.done)),
    /** Stops every experiment: the current runs are recorded `abort`, the matrices stop. */
    stopAll: () => { for (const { stop } of runners.values()) stop.abort(new Error('the orchestrator server is shutting down')); },
  });
}

export type OrchestratorApp = ReturnType<typeof orchestratorApp>;
