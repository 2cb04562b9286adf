/**
 * One ingest instance of bench/ingest-scaleout, in a process of its own so its CPU time is its own.
 * Driven by lines on stdin, answered by lines on fd 3 (stdout stays free for what V8 or Node print,
 * e.g. `--trace-gc` through ISOSCOPE_MEMBER_NODE_ARGS):
 *
 * - `join <group> [from-end]`: starts an ingest instance in consumer group <group> (a group that has
 *   no committed offsets starts at the topic's beginning, or with `from-end` at its end: the idle
 *   instance of the bench); answers `joined` once it consumes. The CPU count starts.
 * - `go`: the group has settled and the topic is about to be filled; the CPU count starts again here.
 * - `mark`: one JSON line: the CPU this process used since `go` or the last `mark`
 *   (process.cpuUsage; also split into the main thread's and the other threads', from schedstat),
 *   the samples written and the batches, the partitions handled, the Kafka requests sent by API,
 *   the context switches (involuntary ones: the process was preempted, a sign of contention for
 *   the cores), the minor page faults (memory the heap took back from the kernel), garbage
 *   collection's pauses by kind (ms); then a new count starts.
 * - `leave`: the same JSON line, then the instance shuts down (the process stays, its JIT warm, for
 *   the next `join`: the bench's warm drains).
 * - `stop`: like `leave`, then the process exits.
 *
 *   node dist/bench/ingest-member.js <brokers> <questdb http> <questdb pg> <partitionsInFlight>
 *
 * ISOSCOPE_MEMBER_PROFILE_DIR: a V8 CPU profile of each count (from `go` to `mark`/`leave`) is
 * written there, `<pid>-<n>.cpuprofile` (the profiler costs CPU itself: for where, not how much).
 */
import { readFileSync, readdirSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Kafka } from 'kafkajs';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';

/** The answers to the bench, on fd 3 (a pipe the bench opened). */
const answer = (line: string): void => void writeSync(3, line);

const [brokers, http, pgAddr, inFlight] = process.argv.slice(2);
if (!brokers || !http || !pgAddr || !inFlight) {
  console.error('usage: ingest-member.js <brokers> <questdb http> <questdb pg> <partitionsInFlight>');
  process.exit(2);
}

/**
 * Kafka requests this process sent, by API (Fetch, Heartbeat, OffsetCommit...), counted in kafkajs'
 * Connection.send: the bench prints them per drain, to show what an instance asks whatever the rows.
 */
const requests: Record<string, number> = {};
{
  type Send = (this: unknown, a: { request: { apiName: string } }) => Promise<unknown>;
  const Connection = createRequire(import.meta.url)('kafkajs/src/network/connection.js') as { prototype: { send: Send } };
  const send = Connection.prototype.send;
  Connection.prototype.send = function (this: unknown, a) {
    requests[a.request.apiName] = (requests[a.request.apiName] ?? 0) + 1;
    return send.call(this, a);
  };
}
const profileDir = process.env.ISOSCOPE_MEMBER_PROFILE_DIR;
const profiler = profileDir ? new Session() : null;
let profiles = 0;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
}
let profiling = false;
async function profileStart(): Promise<void> {
  if (!profiler || profiling) return;
  await profiler.post('Profiler.start');
  profiling = true;
}
async function profileStop(): Promise<void> {
  if (!profiler || !profiling) return;
  profiling = false;
  const { profile } = await profiler.post('Profiler.stop');
  await writeFile(join(profileDir!, `${process.pid}-${++profiles}.cpuprofile`), JSON.stringify(profile));
}
/**
 * ISOSCOPE_MEMBER_FETCH=<minBytes>:<maxWaitMs>: the ingest group's fetch settings (not the control
 * feed's), an experiment knob: a fetch then waits at the broker for that many bytes or that long.
 */
const fetchSettings = process.env.ISOSCOPE_MEMBER_FETCH?.split(':').map(Number);
if (fetchSettings) {
  const consumer = Kafka.prototype.consumer;
  Kafka.prototype.consumer = function (this: Kafka, config) {
    if (config && !config.groupId.includes('.control.')) config = { ...config, minBytes: fetchSettings[0], maxWaitTimeInMs: fetchSettings[1] };
    return consumer.call(this, config);
  };
}
const cpuNow = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };
/**
 * CPU seconds of the main thread (JavaScript, and GC's pauses on it) and of every other thread
 * (V8's compiler and GC helpers, libuv's pool: zlib), from each thread's schedstat (ns on a CPU):
 * where a difference between configurations lies.
 */
function threadCpu(): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    let ns: number;
    try {
      ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      continue; // the thread ended meanwhile
    }
    if (Number(tid) === process.pid) main += ns / 1e9;
    else other += ns / 1e9;
  }
  return { main, other };
}
/**
 * Garbage collection's pauses on the main thread since the count started, ms by kind (minor:
 * scavenges; major: mark-compact; incremental and weak callbacks), from V8's gc performance
 * entries: what of an instance's CPU is collection rather than its own work.
 */
const gcMs: Record<string, number> = {};
const GC_KINDS: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = GC_KINDS[((e as { detail?: { kind?: number } }).detail)?.kind ?? -1] ?? 'other';
    gcMs[kind] = (gcMs[kind] ?? 0) + e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const bus = new KafkaBus({ brokers: brokers.split(','), clientId: `ingest-member-${process.pid}` });
const store = new QuestDbStore({ http, pg: pgAddr });
await bus.start();
await store.start();
/** CPU from the process's start until its services are connected (node, imports, connections). */
const startCpuSeconds = cpuNow();
answer('ready\n');

let ingest: Ingest | null = null;
let cpu0 = process.cpuUsage();
let threads0 = threadCpu();
let rows0 = 0;
let batches0 = 0;
let joinCpuSeconds = 0;
let switches0 = { voluntary: 0, involuntary: 0 };
let faults0 = 0;
const reset = () => {
  const usage = process.resourceUsage();
  switches0 = { voluntary: usage.voluntaryContextSwitches, involuntary: usage.involuntaryContextSwitches };
  faults0 = usage.minorPageFault;
  cpu0 = process.cpuUsage();
  threads0 = threadCpu();
  rows0 = ingest?.stats.records.samples ?? 0;
  batches0 = ingest?.stats.batches ?? 0;
  for (const k of Object.keys(requests)) delete requests[k];
  for (const k of Object.keys(gcMs)) delete gcMs[k];
};
/** What this instance did since `go` or the last `mark`, and a new start for the next count. */
async function sinceMark(): Promise<string> {
  const cpu = process.cpuUsage(cpu0);
  const threads = threadCpu();
  await profileStop();
  const offsets = ingest ? await ingest.metrics.committedOffset.get() : { values: [] };
  const partitions = offsets.values.map((v) => Number(v.labels.partition)).sort((a, b) => a - b);
  const usage = process.resourceUsage();
  const switches = { voluntary: usage.voluntaryContextSwitches - switches0.voluntary, involuntary: usage.involuntaryContextSwitches - switches0.involuntary };
  const out = { switches, pageFaults: usage.minorPageFault - faults0, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainThreadSeconds: threads.main - threads0.main, otherThreadsSeconds: threads.other - threads0.other, rows: (ingest?.stats.records.samples ?? 0) - rows0, batches: (ingest?.stats.batches ?? 0) - batches0, partitions, startCpuSeconds, joinCpuSeconds, requests: { ...requests }, gcMs: { ...gcMs } };
  reset();
  return `${JSON.stringify(out)}\n`;
}
for await (const line of createInterface({ input: process.stdin })) {
  const [command, group, from] = line.trim().split(/\s+/);
  if (command === 'join' && group) {
    const before = cpuNow();
    ingest = new Ingest(bus, store, { group, topics: ['samples'], partitionsInFlight: Number(inFlight), fromBeginning: from !== 'from-end' });
    await ingest.start();
    joinCpuSeconds = cpuNow() - before;
    reset();
    answer('joined\n');
  }
  if (command === 'go') {
    await profileStart();
    reset();
  }
  if (command === 'mark') {
    answer(await sinceMark());
    await profileStart();
  }
  if (command === 'leave' || command === 'stop') {
    const last = await sinceMark();
    await ingest?.shutdown();
    ingest = null;
    answer(last);
  }
  if (command === 'stop') {
    await store.shutdown();
    await bus.shutdown();
    process.exit(0);
  }
}
