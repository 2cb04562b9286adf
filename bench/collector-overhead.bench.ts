/**
 * What the collector costs beside the workload it measures: its CPU seconds per second of wall time
 * at 10 Hz and 100 Hz, counting 8 perf events and 3 tracepoints on every CPU, against `perf stat -I`
 * counting the same events at the same interval in the same run; then the same plus the shipped eBPF
 * programs (perf stat has no counterpart for those: the difference is their cost); and, for the
 * record, the procfs source alone. Needs root (perf, BPF) and built eBPF objects (npm run build:ebpf).
 *
 *   npm run build && node dist/bench/collector-overhead.bench.js [--seconds 10]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusProducer } from '../bus/bus.js';
import { CollectorAgent } from '../collectors/agent.js';
import { buildSources } from '../collectors/build.js';
import { SHIPPED_PROGRAMS } from '../collectors/ebpf/config.js';
import { SequenceFile } from '../collectors/sequence.js';

const PERF_EVENTS = ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'cycles', 'instructions', 'cache-misses', 'branch-misses'];
const TRACEPOINTS = ['sched:sched_switch', 'sched:sched_wakeup', 'irq:softirq_entry'];
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** A sink that takes the encoded batch and throws it away: the bench measures the collector, not a bus. */
const discard: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async () => {} };

async function agentCpuPerSecond(hz: number, seconds: number, sources: string[] = ['perf']): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-overhead-'));
  try {
    const built = buildSources(sources, { perf: { events: [...PERF_EVENTS, ...TRACEPOINTS] }, ebpf: { programs: [...SHIPPED_PROGRAMS] } }, { stateDir: dir });
    const agent = new CollectorAgent({
      node: 'bench', collectorId: 'bench/overhead', ...built, intervalMs: Math.round(1000 / hz), producer: discard,
      sequence: SequenceFile.forCollector(dir, 'bench/overhead'),
    });
    await agent.start();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const c = process.cpuUsage(c0);
    const wall = (performance.now() - t0) / 1000;
    await agent.shutdown();
    return (c.user + c.system) / 1e6 / wall;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** perf stat's own CPU seconds per wall second, from the shell's `times` (children's user+sys). */
function perfStatCpuPerSecond(hz: number, seconds: number): number {
  const events = [...PERF_EVENTS, ...TRACEPOINTS].join(',');
  const script = `perf stat -a -I ${Math.round(1000 / hz)} -x, -e ${events} -- sleep ${seconds} >/dev/null 2>&1; times`;
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
  const children = out.trim().split('\n')[1]!; // e.g. "0m0.120s 0m0.340s"
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
  return secs / seconds;
}

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 10);
  console.log(`collector overhead: ${PERF_EVENTS.length} perf events + ${TRACEPOINTS.length} tracepoints on every CPU, ${seconds} s per figure`);
  console.log('  (hardware events are unsupported in a VM: both sides then count the software events and tracepoints)');
  for (const hz of [10, 100]) {
    const ours = await agentCpuPerSecond(hz, seconds);
    const perf = perfStatCpuPerSecond(hz, seconds);
    console.log(`  ${String(hz).padStart(3)} Hz   isoscope collector ${(ours * 1000).toFixed(1)} ms CPU/s   perf stat -I ${(perf * 1000).toFixed(1)} ms CPU/s   ratio ${(ours / perf).toFixed(2)}×`);
  }
  for (const hz of [10, 100]) {
    try {
      const withBpf = await agentCpuPerSecond(hz, seconds, ['perf', 'ebpf']);
      console.log(`  ${String(hz).padStart(3)} Hz   isoscope collector + eBPF (${SHIPPED_PROGRAMS.join(', ')}) ${(withBpf * 1000).toFixed(1)} ms CPU/s`);
    } catch (err) {
      console.log(`  ${String(hz).padStart(3)} Hz   eBPF programs not measured: ${(err as Error).message}`);
    }
  }
  for (const hz of [10, 100]) {
    const procfs = await agentCpuPerSecond(hz, seconds, ['procfs']);
    console.log(`  ${String(hz).padStart(3)} Hz   procfs source alone (stat, meminfo, NUMA, interrupts) ${(procfs * 1000).toFixed(1)} ms CPU/s`);
  }
}

await main();
