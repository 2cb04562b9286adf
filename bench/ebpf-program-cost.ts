/**
 * What each handler of a BPF object costs per run (per context switch, per wake-up …), measured by
 * the kernel itself (kernel.bpf_stats_enabled: run_time_ns and run_cnt per program), for several
 * objects loaded side by side, so they see the same switches under the same load (e.g. a program
 * before and after a change). Each object's programs are told apart from everybody else's by their
 * ids (bpftool's listing before and after loading it). bpf_stats is switched on for the measurement
 * and back to what it was after. Needs root and bpftool.
 *
 *   npm run build && node dist/bench/ebpf-program-cost.js [--seconds 5] [--rounds 3] a.bpf.o b.bpf.o …
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadavg } from 'node:os';
import { loadBpfNative, type BpfObject } from '../collectors/ebpf/native.js';

interface Prog {
  id: number;
  name: string;
  run_time_ns?: number;
  run_cnt?: number;
}

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const programs = (): Prog[] => JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as Prog[];
const ctxt = () => Number(/^ctxt (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

export async function main(): Promise<void> {
  const seconds = arg('--seconds', 5);
  const rounds = arg('--rounds', 3);
  const paths = process.argv.slice(2).filter((a, i, all) => a.endsWith('.o') && !['--seconds', '--rounds'].includes(all[i - 1]!));
  if (paths.length === 0) throw new Error('usage: ebpf-program-cost.js [--seconds N] [--rounds N] object.bpf.o …');
  const r = loadBpfNative();
  if (!r.ok) throw new Error(r.reason);
  const loaded: { path: string; obj: BpfObject; ids: Map<number, string> }[] = [];
  const statsBefore = readFileSync(STATS, 'utf8').trim();
  try {
    for (const path of paths) {
      const before = new Set(programs().map((p) => p.id));
      const obj = r.native.openObject(path);
      const ids = new Map(programs().filter((p) => !before.has(p.id)).map((p) => [p.id, p.name]));
      loaded.push({ path, obj, ids });
    }
    writeFileSync(STATS, '1');
    console.log(`BPF handler cost per run, ${rounds} rounds of ${seconds} s; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const perRun = new Map<string, number[]>();
    const perSecond = new Map<string, number[]>();
    const switches: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const snap = () => new Map(programs().map((p) => [p.id, p]));
      const a = snap();
      const c0 = ctxt();
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const b = snap();
      const wall = (performance.now() - t0) / 1000;
      switches.push((ctxt() - c0) / wall);
      for (const { path, ids } of loaded) {
        let total = 0;
        for (const [id, name] of ids) {
          const ns = (b.get(id)?.run_time_ns ?? 0) - (a.get(id)?.run_time_ns ?? 0);
          const cnt = (b.get(id)?.run_cnt ?? 0) - (a.get(id)?.run_cnt ?? 0);
          const key = `${basename(path)} ${name}`;
          (perRun.get(key) ?? perRun.set(key, []).get(key)!).push(cnt > 0 ? ns / cnt : 0);
          total += ns;
        }
        const key = basename(path);
        (perSecond.get(key) ?? perSecond.set(key, []).get(key)!).push(total / 1e6 / wall);
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
    const spread = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
    console.log(`  context switches per second (the whole machine): ${spread(switches, 0)}`);
    for (const [key, xs] of perRun) console.log(`  ${key}: ${spread(xs, 0)} ns per run`);
    for (const [key, xs] of perSecond) console.log(`  ${key} in all: ${spread(xs, 2)} ms CPU/s`);
    console.log(`  load average at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    writeFileSync(STATS, statsBefore);
    for (const l of loaded) l.obj.close();
  }
}

await main();
