/**
 * The default measurement set's own cost as a collector that runs for a whole experiment has it
 * (issue 19's goal: perf + procfs + eBPF at 10 Hz ≤ 0.5 % of one core), next to `perf stat -I`
 * counting the same perf events on the same CPUs at the same interval, all measured in the same
 * time windows:
 * - two collectors in processes of their own (the default set, its batches thrown away): one on
 *   the native sampler, one on the JS timer. Each is left to warm up first (`--warmup`, 40 s:
 *   V8 keeps compiling the tick's functions for the first tens of seconds at 10 Hz, which a
 *   long-running collector pays once), then measured from outside, from the kernel's per-thread
 *   run time (/proc/<pid>/task/<tid>/schedstat, ns), split into the main thread, the sampler
 *   thread and the others (V8's and libuv's workers);
 * - a third collector with only the perf source (the same 12 events, native sampler), measured
 *   the same way: perf counting alone, paired per window with perf stat (the goal ≤ 1.0×);
 * - `perf stat -a -I` with the default set's perf events, running beside them for the whole bench
 *   in a cgroup v2 of its own, its CPU time from cpu.stat over the same windows (bench/perf-stat-cpu.ts).
 * - with `--send gzip` (or `none`, or `gzip,none`): one more native-sampler collector per compression
 *   whose batches go the deployed way, through the disk spool (group commit, fdatasync) to a real
 *   Kafka (the collectors' producer, bus/kafka/direct-producer.ts: idempotent, acks from all replicas), on a topic of the bench's own
 *   (created and deleted here, so no consumer of `samples` sees them). Its whole process is measured
 *   like the others, so the difference to the first collector is what sending costs. Kafka is the
 *   one of `--state-dir DIR`, $ISOSCOPE_BENCH_STATE_DIR or $ISOSCOPE_TEST_SERVICES_STATE_DIR, or one
 *   started for the bench.
 * They run side by side in each window (so load drifts hit them alike), `--rounds` windows of
 * `--seconds`; figures are median [min–max] ms CPU per s. Needs root (perf, BPF), built eBPF objects.
 *
 *   npm run build && node dist/bench/default-set-overhead.bench.js [--hz 10] [--seconds 5] [--rounds 5] [--warmup 40] [--send gzip,none]
 */
process.env.ISOSCOPE_LOG_LEVEL ??= 'error';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EBPF_PROGRAMS, DEFAULT_PERF_EVENTS } from '../collectors/measure/schema.js';
import type { BusProducer } from '../bus/bus.js';
import { startPerfStat, type PerfStatRunning } from './perf-stat-cpu.js';
import { ratioStats } from './ratio-stats.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SendTo { brokers: string[]; topic: string; compression: 'gzip' | 'none' }

/**
 * Child mode: the default set at `hz` on the native sampler or the JS timer, until stdin ends; its
 * batches thrown away, or (`send`) through the disk spool to Kafka as `isoscope collector` sends them.
 */
async function child(hz: number, native: boolean, send: SendTo | null, perfOnly = false): Promise<void> {
  const { CollectorAgent } = await import('../collectors/agent.js');
  const { buildSources } = await import('../collectors/build.js');
  const { SequenceFile } = await import('../collectors/sequence.js');
  const dir = mkdtempSync(join(tmpdir(), 'isoscope-default-set-'));
  const built = buildSources(perfOnly ? ['perf'] : ['perf', 'procfs', 'ebpf'], { perf: { events: [...DEFAULT_PERF_EVENTS] }, ebpf: { programs: [...DEFAULT_EBPF_PROGRAMS] } }, { stateDir: dir });
  let producer: BusProducer = { start: async () => {}, shutdown: async () => {}, send: async () => {} };
  let bus: { shutdown(): Promise<void> } | null = null;
  const sent = { batches: 0, bytes: 0, largest: [] as Buffer[], largestBytes: 0 };
  if (send) {
    const { KafkaBus } = await import('../bus/kafka/kafka-bus.js');
    const { createSink } = await import('../collectors/sink.js');
    const kafka = new KafkaBus({ brokers: send.brokers, compression: send.compression });
    bus = kafka;
    // The deployed sink (spool + Kafka producer); only the topic is the bench's own.
    const sink = createSink('kafka', { bus: kafka, stateDir: dir, spoolMaxBytes: 1024 ** 3 });
    producer = {
      start: () => sink.producer.start(),
      shutdown: (deadlineMs?: number) => sink.producer.shutdown(deadlineMs),
      send: (_topic, messages) => {
        sent.batches += messages.length;
        let bytes = 0;
        for (const m of messages) bytes += m.value.length;
        sent.bytes += bytes;
        if (bytes > sent.largestBytes) Object.assign(sent, { largest: messages.map((m) => m.value), largestBytes: bytes });
        return sink.producer.send(send.topic, messages);
      },
    };
  }
  const agent = new CollectorAgent({
    node: 'bench', collectorId: 'bench/default-set', ...built, intervalMs: Math.round(1000 / hz),
    producer, sequence: SequenceFile.forCollector(dir, 'bench/default-set'), nativeSampler: native,
  });
  await producer.start();
  await agent.start();
  process.stdout.write(`ready ${agent.mode}${agent.jsTimerReason ? ` (${agent.jsTimerReason})` : ''}\n`);
  for await (const _line of createInterface({ input: process.stdin })) {
    // nothing to do: the parent measures from outside
  }
  await agent.shutdown();
  await producer.shutdown(2500); // as `isoscope collector` does after its agent: the spool forwards what is left
  await bus?.shutdown();
  if (send) {
    // Outside the measured windows: what gzip makes of the largest send's batches (kafkajs compresses each request's record batch).
    const { gzipSync } = await import('node:zlib');
    const raw = Buffer.concat(sent.largest);
    process.stdout.write(`sent ${sent.batches} ${sent.bytes} ${raw.length} ${gzipSync(raw).length}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
}

type ThreadKind = 'main' | 'sampler' | 'other';

/** ns on CPU of each thread of a process so far, by kind (the main thread's tid is the pid; sampler.c names its thread). */
function threadNs(pid: number): Record<ThreadKind, number> {
  const out: Record<ThreadKind, number> = { main: 0, sampler: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const kind: ThreadKind = Number(tid) === pid ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('isoscope-sampl') ? 'sampler' : 'other';
      out[kind] += ns;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

interface Child { proc: ChildProcess; mode: string; lines: AsyncIterator<string> }

async function startChild(hz: number, native: boolean, send: SendTo | null = null, perfOnly = false): Promise<Child> {
  const sendArgs = send ? ['--send-to', send.brokers.join(','), send.topic, send.compression] : [];
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', String(hz), native ? 'native' : 'js', ...sendArgs, ...(perfOnly ? ['--perf-only'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !first.value.startsWith('ready ')) throw new Error(`the ${native ? 'native' : 'JS timer'} collector${send ? ` sending to Kafka (${send.compression})` : ''} did not start`);
  return { proc, mode: first.value.slice(6), lines };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (x: number) => (x * 1000).toFixed(2);
const spread = (xs: number[]) => `${ms(median(xs))} [${ms(Math.min(...xs))}–${ms(Math.max(...xs))}]`;
const pct = (xs: number[]) => `${(median(xs) * 100).toFixed(2)} % of one core [${(Math.min(...xs) * 100).toFixed(2)}–${(Math.max(...xs) * 100).toFixed(2)}]`;

/** Kafka for `--send`, and a topic of the bench's own on it (deleted at the end). */
async function sendTarget(): Promise<{ brokers: string[]; topic: string; stop: () => Promise<void> }> {
  const shared = process.env.ISOSCOPE_TEST_SERVICES_STATE_DIR;
  if (shared && !process.env.ISOSCOPE_BENCH_STATE_DIR) process.env.ISOSCOPE_BENCH_STATE_DIR = shared;
  const { benchServices } = await import('./services.js');
  const services = await benchServices();
  const brokers = services.state.kafka.brokers;
  const topic = `bench-default-set-${process.pid}`;
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: -1 }] });
  return {
    brokers, topic,
    stop: async () => {
      await admin.deleteTopics({ topics: [topic] }).catch((err) => console.error(`  could not delete topic ${topic}: ${(err as Error).message}`));
      await admin.disconnect();
      await services.stop();
    },
  };
}

export async function main(): Promise<void> {
  const hz = arg('--hz', 10);
  const seconds = arg('--seconds', 5);
  const rounds = arg('--rounds', 5);
  const warmup = arg('--warmup', 40);
  const sendAt = process.argv.indexOf('--send');
  const compressions = sendAt > 0 ? (process.argv[sendAt + 1] ?? 'gzip').split(',') : [];
  for (const c of compressions) if (c !== 'gzip' && c !== 'none') throw new Error(`--send takes gzip, none or gzip,none, not ${c}`);
  console.log(`default measurement set (perf ${DEFAULT_PERF_EVENTS.length} events + procfs + eBPF ${DEFAULT_EBPF_PROGRAMS.join(', ')}) at ${hz} Hz, each collector in its own process past a ${warmup} s warm-up; ${rounds} windows of ${seconds} s, native sampler, JS timer${compressions.length ? `, native sampler sending through the spool to Kafka (${compressions.join(', ')})` : ''} and perf stat -I side by side; ms CPU per s, median [min–max]`);
  console.log(`  load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const target = compressions.length ? await sendTarget() : null;
  const children: Record<string, Child> = {};
  let perfStat: PerfStatRunning | null = null;
  try {
    children.native = await startChild(hz, true);
    children.js = await startChild(hz, false);
    // perf counting alone (the default set's 12 events, native sampler), against perf stat counting
    // the same events beside it: the issue's "≤ 1.0× perf stat -I", both processes long-running.
    children.perfOnly = await startChild(hz, true, null, true);
    for (const c of compressions) children[`send-${c}`] = await startChild(hz, true, { brokers: target!.brokers, topic: target!.topic, compression: c as 'gzip' | 'none' });
    const names = Object.keys(children);
    // perf stat runs beside them for the whole bench, as they do, and is read over the same windows.
    perfStat = await startPerfStat(hz, DEFAULT_PERF_EVENTS);
    console.log(`  collectors: native sampler (${children.native!.mode}), JS timer (${children.js!.mode}); perf stat -I running beside them, its CPU from a cgroup of its own over the same windows`);
    if (target) console.log(`  sending to Kafka ${target.brokers.join(', ')}, topic ${target.topic} (6 partitions), through a spool of its own per collector`);
    await sleep(warmup * 1000);
    const cpu: Record<string, number[]> = { perf: [] };
    const split: Record<string, Record<ThreadKind, number>[]> = {};
    for (const k of names) { cpu[k] = []; split[k] = []; }
    for (let r = 0; r < rounds; r++) {
      const before = Object.fromEntries(names.map((k) => [k, threadNs(children[k]!.proc.pid!)]));
      const t0 = performance.now();
      const perf0 = perfStat.cpuSeconds();
      await sleep(seconds * 1000);
      const perf = perfStat.cpuSeconds() - perf0;
      const wall = (performance.now() - t0) / 1000;
      for (const k of names) {
        const after = threadNs(children[k]!.proc.pid!);
        const per = Object.fromEntries((['main', 'sampler', 'other'] as const).map((t) => [t, (after[t] - before[k]![t]) / 1e9 / wall])) as Record<ThreadKind, number>;
        split[k]!.push(per);
        cpu[k]!.push(per.main + per.sampler + per.other);
      }
      cpu.perf!.push(perf / wall);
    }
    const threads = (xs: Record<ThreadKind, number>[]) => `main ${spread(xs.map((x) => x.main))}, sampler thread ${spread(xs.map((x) => x.sampler))}, other threads ${spread(xs.map((x) => x.other))}`;
    console.log(`  native sampler: ${spread(cpu.native!)} = ${pct(cpu.native!)}   goal ≤ 0.50 %   (batches thrown away)`);
    console.log(`                  (${threads(split.native!)})`);
    console.log(`  JS timer:       ${spread(cpu.js!)} = ${pct(cpu.js!)}   (${threads(split.js!)})`);
    for (const c of compressions) {
      const k = `send-${c}`;
      // Same window, paired: what sending added to the native sampler's process in each window.
      const extra = cpu[k]!.map((x, i) => x - cpu.native![i]!);
      console.log(`  native sampler sending through the spool to Kafka, ${c}: ${spread(cpu[k]!)} = ${pct(cpu[k]!)}   goal ≤ 0.50 %`);
      console.log(`                  (${threads(split[k]!)}); sending adds ${spread(extra)} per window`);
    }
    const ratio = `the default set on the native sampler is ${(median(cpu.native!) / median(cpu.perf!)).toFixed(2)}× that`;
    console.log(`  perf stat -I, its ${DEFAULT_PERF_EVENTS.length} perf events alone: ${spread(cpu.perf!)} = ${pct(cpu.perf!)}; ${ratio}`);
    // Same windows, paired: the perf-only collector over perf stat in each.
    const perfRatio = ratioStats(cpu.perfOnly!.map((x, i) => x / cpu.perf![i]!));
    console.log(`  perf counting alone (a collector with only the perf source, the same ${DEFAULT_PERF_EVENTS.length} events, native sampler): ${spread(cpu.perfOnly!)}; over perf stat -I per window ${cpu.perfOnly!.map((x, i) => (x / cpu.perf![i]!).toFixed(2)).join(' ')}: geometric mean ${perfRatio.geo.toFixed(2)}×, 95 % interval ${perfRatio.lo.toFixed(2)}–${perfRatio.hi.toFixed(2)} (goal ≤ 1.0×)`);
    console.log(`                  (${threads(split.perfOnly!)})`);
  } finally {
    await perfStat?.stop();
    for (const [k, c] of Object.entries(children)) {
      const exited = new Promise((r) => c.proc.once('exit', r));
      c.proc.stdin!.end();
      if (k.startsWith('send-')) {
        for (let l = await c.lines.next(); !l.done; l = await c.lines.next()) {
          const m = /^sent (\d+) (\d+) (\d+) (\d+)$/.exec(l.value);
          if (m) console.log(`  ${k}: ${m[1]} batches, ${(Number(m[2]) / Number(m[1]) / 1024).toFixed(1)} KiB each; the largest send's ${(Number(m[3]) / 1024).toFixed(1)} KiB gzip to ${(Number(m[4]) / 1024).toFixed(1)} KiB (${(Number(m[3]) / Number(m[4])).toFixed(1)}×)`);
        }
      }
      await exited;
    }
    await target?.stop();
  }
  console.log(`  load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

const at = process.argv.indexOf('--child');
if (at > 0) {
  const to = process.argv.indexOf('--send-to');
  const send = to > 0 ? { brokers: process.argv[to + 1]!.split(','), topic: process.argv[to + 2]!, compression: process.argv[to + 3] as 'gzip' | 'none' } : null;
  await child(Number(process.argv[at + 1]), process.argv[at + 2] === 'native', send, process.argv.includes('--perf-only'));
}
else await main();
