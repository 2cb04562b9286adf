/**
 * Detection delay and false alarms of each alert detector on real recorded runs, with and without
 * injected interference (stress-ng pinned to the workload's CPU, see bench/alerts-recorder.ts).
 * Every detector runs through the same RuleEngine as the live evaluator; baselines are
 * leave-one-out over the runs without interference.
 *
 * Judged against the target: an alert within a few sampling intervals of the onset (here:
 * at most `for` + 4 intervals) on every disturbed run, and no alert at all on undisturbed runs nor
 * before the onset.
 *
 *   npm run build && node dist/bench/alerts.bench.js              # replays alerts/testdata/recorded-runs.jsonl
 *   npm run build && sudo node dist/bench/alerts.bench.js --record [--runs 4]   # records new runs first (≈ 11 s each)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { baselineStats, type BaselineStats } from '../alerts/detectors/baseline.js';
import { seriesValues } from '../alerts/baselines.js';
import { RuleEngine } from '../alerts/engine.js';
import { ruleSchema, type Rule } from '../alerts/rules/schema.js';
import { recordedSamples, recordRun, type RecordedRun } from './alerts-recorder.js';

const RECORDING = fileURLToPath(new URL('../../alerts/testdata/recorded-runs.jsonl', import.meta.url));
const INTERVAL_MS = 250;
const FOR_MS = 500;
const DELAY_TARGET_MS = FOR_MS + 4 * INTERVAL_MS;

const workload = { metric: 'task-clock', scope: { source: 'perf', labels: { cgroup: '/workload' }, by: ['node', 'cgroup', 'run'] } };
const node = { metric: 'procs_running', scope: { source: 'procfs', by: ['node', 'run'] } };
const RULES: Rule[] = [
  { name: 'task-clock:threshold-50pct', ...workload, detector: { kind: 'threshold', op: '<', value: 0.5 * INTERVAL_MS * 1e6 }, for: FOR_MS },
  { name: 'task-clock:baseline-z4', ...workload, detector: { kind: 'baseline', method: 'zscore', z: 4, direction: 'below' }, for: FOR_MS },
  { name: 'task-clock:baseline-q0.01', ...workload, detector: { kind: 'baseline', method: 'quantile', quantile: 0.99, direction: 'below' }, for: FOR_MS },
  { name: 'task-clock:cusum-k0.5-h5', ...workload, detector: { kind: 'changepoint', warmup: 8, k: 0.5, h: 5, direction: 'below', minRelStd: 0.02 }, for: FOR_MS },
  { name: 'task-clock:cusum-k1-h8', ...workload, detector: { kind: 'changepoint', warmup: 8, k: 1, h: 8, direction: 'below', minRelStd: 0.1 }, for: FOR_MS },
  { name: 'procs_running:baseline-z4', ...node, detector: { kind: 'baseline', method: 'zscore', z: 4, direction: 'above' }, for: FOR_MS },
  { name: 'procs_running:cusum', ...node, detector: { kind: 'changepoint', warmup: 8, k: 0.5, h: 5, direction: 'above', minRelStd: 0.1 }, for: FOR_MS },
].map((r) => ruleSchema.parse(r));

async function record(runs: number): Promise<RecordedRun[]> {
  const out: RecordedRun[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'isoscope-alerts-bench-'));
  try {
    for (let i = 0; i < runs * 2; i++) {
      const disturbed = i % 2 === 1;
      process.stderr.write(`recording run ${i + 1}/${runs * 2} (${disturbed ? 'stress-ng from 4 s to 8 s' : 'no interference'})…\n`);
      out.push(await recordRun({ run: `r${i}-${disturbed ? 'bg' : 'quiet'}`, intervalMs: INTERVAL_MS, durationMs: 11_000, stressAtMs: disturbed ? 4000 : null, stressUntilMs: 8000, stateDir }));
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  writeFileSync(RECORDING, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
  process.stderr.write(`recorded ${out.length} runs into ${RECORDING}\n`);
  return out;
}

interface Figures {
  detected: number;
  disturbed: number;
  delaysMs: number[];
  falseAlarms: number;
  quietSeconds: number;
}

function evaluate(rule: Rule, runs: RecordedRun[]): Figures {
  const quiet = runs.filter((r) => !r.background);
  const f: Figures = { detected: 0, disturbed: 0, delaysMs: [], falseAlarms: 0, quietSeconds: 0 };
  for (const run of runs) {
    // Leave-one-out baseline: every undisturbed run except this one.
    const others = quiet.filter((q) => q.run !== run.run).flatMap(recordedSamples);
    const stats: BaselineStats | null = rule.detector.kind === 'baseline' ? baselineStats(seriesValues({ ...rule, scope: { ...rule.scope, run: undefined } }, others), rule.detector) : null;
    const engine = new RuleEngine([rule], () => stats);
    const samples = recordedSamples(run);
    const firings = [...new Set(samples.map((s) => s.ts))].sort((a, b) => (a < b ? -1 : 1)).flatMap((ts) => engine.observe(samples.filter((s) => s.ts === ts))).filter((t) => t.state === 'firing');
    const start = BigInt(run.startNs);
    const onset = run.onsetNs === null ? null : BigInt(run.onsetNs);
    const end = BigInt(samples[samples.length - 1]!.ts);
    f.quietSeconds += Number((onset ?? end) - start) / 1e9;
    f.falseAlarms += firings.filter((t) => onset === null || t.ts < onset).length;
    if (onset !== null) {
      f.disturbed++;
      const hit = firings.find((t) => t.ts >= onset);
      if (hit) {
        f.detected++;
        f.delaysMs.push(Number(hit.ts - onset) / 1e6);
      }
    }
  }
  return f;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsArg = args.indexOf('--runs');
  const runs = args.includes('--record') || !existsSync(RECORDING)
    ? await record(runsArg >= 0 ? Number(args[runsArg + 1]) : 4)
    : readFileSync(RECORDING, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordedRun);
  const disturbed = runs.filter((r) => r.background).length;
  console.log(`alert detectors on ${runs.length} recorded runs (${disturbed} with stress-ng --cpu 2 pinned to the workload's CPU from 4 s, ${runs.length - disturbed} without), interval ${INTERVAL_MS} ms, for ${FOR_MS} ms`);
  console.log(`target: every disturbed run detected within ${DELAY_TARGET_MS} ms of the onset (for + 4 intervals); 0 false alarms\n`);
  const header = ['detector', 'detected', 'delay mean ms', 'delay max ms', 'max / interval', 'false alarms', 'per quiet hour', 'meets target'];
  const rows = RULES.map((rule) => {
    const f = evaluate(rule, runs);
    const mean = f.delaysMs.length ? f.delaysMs.reduce((a, b) => a + b, 0) / f.delaysMs.length : NaN;
    const max = f.delaysMs.length ? Math.max(...f.delaysMs) : NaN;
    const ok = f.detected === f.disturbed && max <= DELAY_TARGET_MS && f.falseAlarms === 0;
    return [rule.name, `${f.detected}/${f.disturbed}`, mean.toFixed(0), max.toFixed(0), (max / INTERVAL_MS).toFixed(1), String(f.falseAlarms), (f.falseAlarms / (f.quietSeconds / 3600)).toFixed(1), ok ? 'yes' : 'no'];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
