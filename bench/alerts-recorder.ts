/**
 * Records real runs for bench/alerts.bench.ts: the pinned busy workload of bench/contention.ts,
 * the real perf source counting its cgroup on CPU 0 (task-clock, context-switches) and the real
 * procfs source (node-wide), read every interval; optionally real stress-ng on the same CPU
 * starting mid-run (onset and offset recorded). Needs root and perf_event_open.
 */
import { buildSources } from '../collectors/build.js';
import { nowNs } from '../core/clock.js';
import type { SampleView } from '../alerts/rules/match.js';
import { Contention } from './contention.js';
/** Metrics kept from procfs (the rest is dropped to keep recordings small). */
const PROCFS_METRICS = new Set(['context_switches', 'procs_running']);

export interface RecordedRun {
  run: string;
  background: boolean;
  intervalMs: number;
  startNs: string;
  /** When stress-ng was started, ns (decimal), or null. */
  onsetNs: string | null;
  /** When stress-ng was stopped, ns, or null. */
  offsetNs: string | null;
  samples: { ts: string; source: string; metric: string; value: number; cpu: number; cgroup: string | null }[];
}

export interface RecordOptions {
  run: string;
  intervalMs: number;
  durationMs: number;
  /** Start stress-ng at this point of the run (ms), stop it at stressUntilMs; null: no interference. */
  stressAtMs: number | null;
  stressUntilMs?: number;
  stateDir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function recordRun(o: RecordOptions): Promise<RecordedRun> {
  const contention = new Contention(`isoscope-bench-${process.pid}-${o.run}`);
  const rec: RecordedRun = { run: o.run, background: o.stressAtMs !== null, intervalMs: o.intervalMs, startNs: '0', onsetNs: null, offsetNs: null, samples: [] };
  try {
    await contention.start();
    const { sources } = buildSources(['perf', 'procfs'], { perf: { events: ['task-clock', 'context-switches'], scope: { kind: 'cgroup', paths: [contention.cgroup], cpus: [0] } }, procfs: { interruptsPath: null, meminfoPath: null, numaDir: null } }, { stateDir: o.stateDir });
    try {
      for (const s of sources) await s.start();
      // perf counts the cgroup from the next context switch on CPU 0: wait until it shows up.
      for (let i = 0; i < 40; i++) {
        await sleep(o.intervalMs);
        const got = (await sources[0]!.read()).find((x) => x.metric === 'task-clock');
        if (got && got.value > 0.3 * o.intervalMs * 1e6) break;
      }
      await sources[1]!.read();
      const start = nowNs();
      rec.startNs = start.toString();
      for (let t = o.intervalMs; t <= o.durationMs; t += o.intervalMs) {
        await sleep(Math.max(0, Number(start / 1_000_000n) + t - Date.now()));
        if (o.stressAtMs !== null && rec.onsetNs === null && t > o.stressAtMs) {
          contention.stress();
          rec.onsetNs = nowNs().toString();
        }
        if (rec.onsetNs !== null && o.stressUntilMs !== undefined && t > o.stressUntilMs && rec.offsetNs === null) {
          await contention.calm();
          rec.offsetNs = nowNs().toString();
        }
        const ts = nowNs().toString();
        const [perf, procfs] = await Promise.all(sources.map((s) => s.read()));
        for (const s of perf!) rec.samples.push({ ts, source: 'perf', metric: s.metric, value: s.value, cpu: s.cpu ?? -1, cgroup: s.cgroup ?? null });
        for (const s of procfs!) if (PROCFS_METRICS.has(s.metric)) rec.samples.push({ ts, source: 'procfs', metric: s.metric, value: s.value, cpu: s.cpu ?? -1, cgroup: null });
      }
    } finally {
      for (const s of sources) await s.shutdown().catch(() => undefined);
    }
    return rec;
  } finally {
    await contention.stop();
  }
}

/** The recorded samples as the rule engine sees them (node `bench`, run = the run's id). */
export function recordedSamples(r: RecordedRun): SampleView[] {
  return r.samples.map((s) => ({ ts: BigInt(s.ts), node: 'bench', collector: 'bench/recorder', source: s.source, metric: s.metric, value: s.value, cpu: s.cpu, cgroup: s.cgroup === null ? null : '/workload', run: r.run }));
}
