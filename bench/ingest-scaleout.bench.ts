/**
 * Scale-out: the same pre-filled 4-partition samples topic drained by one ingest instance, then by
 * two in one consumer group, each instance a process of its own (bench/ingest-member.ts) so that
 * CPU time is per instance. The same processes drain twice: cold (fresh: JIT and heap growth
 * included) and warm (as a long-running instance). Printed per drain: rows/s until every row is
 * visible, CPU-seconds per million samples summed over the instances, the batches and partitions
 * each instance handled; then, cold and warm, the two-instance CPU per row against the one-instance
 * one (goal: within ± 10 %) and the CPU split into a part per instance and drain (two instances' CPU
 * − one's) and a part per row; an idle instance's CPU over the drain's duration; and the projection
 * for 2 M samples/s from the warm two-instance CPU per row: cores, instances (an instance is one
 * event loop: at most one core, planned at 70 % of it so it can catch up after an outage) and
 * partitions. QuestDB's and Kafka's own CPU are not in these figures.
 *
 *   npm run build && node dist/bench/ingest-scaleout.bench.js [--samples 500000] [--repeat 2] [--partitions-in-flight 2]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpus, loadavg } from 'node:os';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { DEFAULT_PARTITIONS_IN_FLIGHT } from '../ingest/config.js';
import type { ServicesState } from '../services/state.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { prefill, truncate, visible } from './drain-common.js';
import { arg, benchServices } from './services.js';

const PARTITIONS = 4;
const TARGET = 2_000_000;
/** Share of a core an instance is planned at in the projection. */
const PLANNED_CORE_SHARE = 0.7;
const MEMBER = new URL('./ingest-member.js', import.meta.url).pathname;

interface MemberResult {
  cpuSeconds: number;
  rows: number;
  batches: number;
  partitions: number[];
  /** CPU from the process's start until it consumed (not counted in cpuSeconds). */
  startCpuSeconds: number;
}

function member(s: ServicesState, group: string, inFlight: number, fromEnd = false): { started: Promise<void>; go: () => void; mark: () => Promise<MemberResult>; stop: () => Promise<MemberResult> } {
  const child = spawn(process.execPath, [MEMBER, s.kafka.brokers.join(','), s.questdb.http, s.questdb.pg, group, String(inFlight), ...(fromEnd ? ['from-end'] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn' },
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const next = async (): Promise<string> => {
    const r = await Promise.race([lines.next(), exited.then((code) => ({ done: true as const, value: `exited with ${code}` }))]);
    if (r.done) throw new Error(`an ingest member ended early (${String(r.value)})`);
    return r.value;
  };
  const started = next().then((l) => {
    if (l !== 'started') throw new Error(`an ingest member said "${l}" instead of started`);
  });
  return {
    started,
    go: () => void child.stdin!.write('go\n'),
    mark: async () => {
      child.stdin!.write('mark\n');
      return JSON.parse(await next()) as MemberResult;
    },
    stop: async () => {
      child.stdin!.write('stop\n');
      const result = JSON.parse(await next()) as MemberResult;
      await exited;
      return result;
    },
  };
}

interface Run {
  instances: number;
  /** The second drain of the same processes. */
  warm: boolean;
  rate: number;
  seconds: number;
  cpuPerM: number;
  members: MemberResult[];
}

/** Waits until the group is stable with `n` members that each own some samples partitions. */
async function stable(s: ServicesState, group: string, n: number): Promise<void> {
  const admin = new Kafka({ brokers: s.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    for (let tries = 0; ; tries++) {
      const [g] = (await admin.describeGroups([group])).groups;
      const owned = (g?.members ?? []).map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment.samples?.length ?? 0);
      if (g?.state === 'Stable' && owned.length === n && owned.every((k) => k > 0)) return;
      if (tries > 1200) throw new Error(`group ${group} did not settle with ${n} members in 10 minutes (state ${g?.state}, owned ${owned.join(',')})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * The members join first (the group stable, each owning partitions), then the topic is filled: every
 * instance works from the first message on. Rate: from the start of the fill until all is visible.
 * Two drains of `total` samples in a row by the same processes: the first is cold (fresh processes:
 * the JIT compiles the hot path, the heap grows to its working size), the second warm, as a
 * long-running instance is.
 */
async function drainWith(s: ServicesState, db: pg.Client, instances: number, total: number, inFlight: number): Promise<[Run, Run]> {
  await truncate(s).catch(() => undefined);
  const group = `scaleout-${instances}x-${Date.now().toString(36)}`;
  const members = Array.from({ length: instances }, () => member(s, group, inFlight));
  await Promise.all(members.map((m) => m.started));
  await stable(s, group, instances);
  for (const m of members) m.go();
  const drain = async (warm: boolean): Promise<Run> => {
    const t0 = performance.now();
    const filled = await prefill(s, total, `so${instances}x${warm ? 'w' : 'c'}`, PARTITIONS, false);
    await visible(db, filled.prefix, total);
    const secs = (performance.now() - t0) / 1000;
    const results = await Promise.all(members.map((m) => (warm ? m.stop() : m.mark())));
    const where = `collector LIKE '${filled.prefix}-%'`;
    const n = Number((await db.query(`SELECT count() n FROM samples WHERE ${where}`)).rows[0].n);
    const d = Number((await db.query(`SELECT count() n FROM (SELECT DISTINCT collector, seq, idx FROM samples WHERE ${where})`)).rows[0].n);
    if (n !== total || d !== total) throw new Error(`${instances} instance(s): QuestDB holds ${n} rows (${d} distinct) for ${total} samples`);
    const cpu = results.reduce((sum, r) => sum + r.cpuSeconds, 0);
    return { instances, warm, rate: total / secs, seconds: secs, cpuPerM: cpu / (total / 1e6), members: results };
  };
  const cold = await drain(false);
  return [cold, await drain(true)];
}

function sumCpu(run: Run): number {
  return run.members.reduce((sum, m) => sum + m.cpuSeconds, 0);
}

/** CPU of an instance that joins a group of its own at the topic's end and gets nothing, for `seconds`. */
async function idleMember(s: ServicesState, inFlight: number, seconds: number): Promise<number> {
  const m = member(s, `scaleout-idle-${Date.now().toString(36)}`, inFlight, true);
  await m.started;
  m.go();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (await m.stop()).cpuSeconds;
}

export async function main(): Promise<void> {
  const total = Number(arg('--samples') ?? 500_000);
  const repeat = Number(arg('--repeat') ?? 2);
  const inFlight = Number(arg('--partitions-in-flight') ?? DEFAULT_PARTITIONS_IN_FLIGHT);
  if (arg('--state-dir') ?? process.env.ISOSCOPE_BENCH_STATE_DIR) {
    // The pre-fill truncates the samples topic, which must have 4 partitions: its own services only.
    console.error('ingest-scaleout starts its own Kafka and QuestDB (it truncates the samples topic and needs it with 4 partitions); run it without --state-dir');
    process.exit(2);
  }
  const { state, stop } = await benchServices();
  const [host, port] = state.questdb.pg.split(':');
  const db = new pg.Client({ host, port: Number(port), user: state.questdb.user, password: state.questdb.password, database: 'qdb' });
  await db.connect();
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const load = () => `load ${loadavg()[0]!.toFixed(1)}`;
  try {
    const ddl = new QuestDbStore({ http: state.questdb.http, pg: state.questdb.pg });
    await ddl.start();
    await ddl.shutdown();
    const topics = new KafkaBus({ brokers: state.kafka.brokers, partitions: PARTITIONS }); // before any instance creates them with its default
    await topics.start();
    await topics.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
    await topics.shutdown();
    console.log(`ingest scale-out: ${fmt(total)} samples per drain, ${PARTITIONS} partitions, ${inFlight} partition(s) in flight per instance, ${repeat} repetitions, Kafka + QuestDB + instances on the same machine (${cpus().length} CPUs)`);
    const runs: Run[] = [];
    for (let r = 0; r < repeat; r++) {
      for (const instances of [1, 2]) {
        for (const run of await drainWith(state, db, instances, total, inFlight)) {
          runs.push(run);
          const per = run.members.map((m, i) => `#${i + 1} ${fmt(m.rows)} rows in ${m.batches} batches, partitions ${m.partitions.join(',')}, ${m.cpuSeconds.toFixed(2)} CPU-s`).join('; ');
          const start = run.warm ? '' : `; start-up ${run.members.map((m) => m.startCpuSeconds.toFixed(2)).join(' + ')} CPU-s not counted`;
          console.log(`  #${r + 1}  ${instances} instance${instances > 1 ? 's' : ''}, ${run.warm ? 'warm' : 'cold'}: ${fmt(run.rate)} rows/s (${run.seconds.toFixed(1)} s), ${run.cpuPerM.toFixed(2)} CPU-s per M samples (${per}${start}; ${load()}); every sample exactly once`);
        }
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const span = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
    const pick = (instances: number, warm: boolean) => runs.filter((x) => x.instances === instances && x.warm === warm);
    for (const warm of [false, true]) {
      const one = pick(1, warm).map((x) => x.cpuPerM);
      const two = pick(2, warm).map((x) => x.cpuPerM);
      const ratio = mean(two) / mean(one);
      // One instance: F + m·N CPU-s; two: 2F + m·N. The difference is what an instance costs whatever
      // the rows (F), the rest the CPU per row (m), from the means of the same runs.
      const cpu1 = mean(pick(1, warm).map(sumCpu));
      const cpu2 = mean(pick(2, warm).map(sumCpu));
      const fixed = cpu2 - cpu1;
      console.log(`  ${warm ? 'warm (second drain of the same processes)' : 'cold (fresh processes)'}: CPU per M samples one instance ${span(one)}, two instances ${span(two)}; two / one = ${ratio.toFixed(2)} (goal 0.90–1.10${ratio >= 0.9 && ratio <= 1.1 ? ', met' : ', not met'}); not following the rows: ${fixed.toFixed(2)} CPU-s per instance and drain (two instances' CPU − one's), per row ${((cpu1 - fixed) / (total / 1e6)).toFixed(2)} CPU-s per M samples`);
    }
    // What an instance uses with nothing to do, over the two-instance drain's duration.
    const idleSeconds = mean(pick(2, false).map((x) => x.seconds));
    const idle = await idleMember(state, inFlight, idleSeconds);
    console.log(`  an instance with nothing to do used ${idle.toFixed(2)} CPU-s over ${idleSeconds.toFixed(1)} s (the two-instance drain's duration; ${load()})`);
    const perM = mean(pick(2, true).map((x) => x.cpuPerM));
    const cores = (TARGET / 1e6) * perM;
    const instances = Math.ceil(cores / PLANNED_CORE_SHARE);
    console.log(`  projection for ${fmt(TARGET)} samples/s at ${perM.toFixed(2)} CPU-s per M samples (two warm instances: long-running ones): ${cores.toFixed(1)} cores of ingest, ${instances} instances at ${PLANNED_CORE_SHARE * 100}% of a core each, a samples topic of ≥ ${instances} partitions (Kafka's and QuestDB's own CPU not included)`);
  } finally {
    await db.end();
    await stop();
  }
}

await main();
