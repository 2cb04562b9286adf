/**
 * Scale-out: the same 4-partition samples topic drained by one ingest instance and by two in one
 * consumer group, each instance a process of its own (bench/ingest-member.ts) so that CPU time is
 * per instance. The members join first (the group stable, each owning partitions), then the topic is
 * filled. `--fill before` (the default): the members are stopped (SIGSTOP) during the fill and
 * continued after it, so each counted drain is a pre-filled backlog that the instances drain as fast
 * as they can, busy as instances of a testbed that needs several are (the projection plans them at
 * 70 % of a core). `--fill during`: the instances work while the fill goes on, at the fill's pace
 * (6–8 % of a core here), where a process that gets half the rows per second was measured paying
 * more per row (docs/DECISIONS.md).
 *
 * The figure, CPU per row of two instances over one's (goal 0.90–1.10), is judged from pairs of
 * drains, one with one instance and one with two, in ABBA order so that drift in the machine's load
 * falls on both sides:
 * - cold: each drain by fresh processes (JIT and heap warm-up counted; module loading is printed and
 *   not counted), `--cold` pairs;
 * - warm: long-running processes (three: one alone, two together), each drain in a new group, after
 *   an untimed warm-up drain, `--pairs` pairs; each drain's count starts after an uncounted lead-in
 *   (`--lead-in`, default twice the drain) so that the instances are busy when it starts, as in a
 *   steady stream. This is the issue's question, steady-state CPU per row. The lead-in is what
 *   each instance warms up on again after idling through the other configuration's drains, and
 *   each of two gets half of it: with half the drain as lead-in, two instances' drains after
 *   idling cost 12–22 % more than after their own, one instance's 0–4 % (docs/DECISIONS.md).
 * Per pair the ratio two / one; printed: median, geometric mean with its 95 % interval (Student's t
 * on the log ratios) and a verdict: met when the whole interval lies within 0.90–1.10, not met when
 * it lies wholly outside, not settled otherwise. Also the CPU split into a part per instance and
 * drain (two instances' CPU − one's) and a part per row, the Kafka requests each instance sent per
 * drain, an idle instance's CPU, and the projection for 2 M samples/s from the warm two-instance
 * CPU per row: cores, instances (an instance is one event loop: at most one core, planned at 70 % of
 * it so it can catch up after an outage) and partitions. QuestDB's and Kafka's own CPU are not in
 * these figures.
 *
 *   npm run build && node dist/bench/ingest-scaleout.bench.js [--samples 500000] [--pairs 6] [--cold 2] [--lead-in 2×samples] [--fill before|during] [--control 0] [--partitions-in-flight 2] [--two-in-flight N] [--same-work] [--pairs-file F]
 *
 * `--control N`: N more warm pairs in which the two instances are in groups of their own and each
 * drains every sample: as many busy processes as two in one group, nothing split (the contention
 * control).
 *
 * `--same-work`: two instances drain twice the samples of one (lead-in too), so each instance does
 * the work one does alone: scale-out at the same load per instance. By default the topic's size
 * stays, and each of two instances does half the work.
 *
 * `--pairs-file F`: each pair is also appended to F (JSON lines), and the figures are printed again
 * over every pair in F: runs that each fit a short slot of a shared machine pooled into one interval
 * (the same settings only: the file holds what the runs printed, nothing checks it).
 *
 * ISOSCOPE_MEMBER_NODE_ARGS: node flags for the member processes only (e.g. V8 flags, measured).
 * ISOSCOPE_MEMBER_OUT_DIR: each member's stdout (V8's traces, e.g. `--trace-deopt`) goes to `<pid>.out` there.
 * ISOSCOPE_MEMBER_CPUS: run the members on these CPUs only (taskset -c), e.g. `taskset -c 0 node
 * dist/bench/ingest-scaleout.bench.js` with ISOSCOPE_MEMBER_CPUS=1: one and two instances get the
 * same single core, and the bench, Kafka and QuestDB the other.
 * ISOSCOPE_MEMBER_FETCH=<minBytes>:<maxWaitMs>: the members' ingest fetch settings (experiment).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { DEFAULT_PARTITIONS_IN_FLIGHT } from '../ingest/config.js';
import type { ServicesState } from '../services/state.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';
import { prefill, truncate, visible } from './drain-common.js';
import { ratioStats } from './ratio-stats.js';
import { arg, benchServices } from './services.js';

const PARTITIONS = 4;
const TARGET = 2_000_000;
/** Share of a core an instance is planned at in the projection. */
const PLANNED_CORE_SHARE = 0.7;
const MEMBER = new URL('./ingest-member.js', import.meta.url).pathname;

interface MemberResult {
  cpuSeconds: number;
  /** The same CPU split by thread (schedstat): the main thread, and V8's and libuv's helper threads. */
  mainThreadSeconds: number;
  otherThreadsSeconds: number;
  rows: number;
  batches: number;
  partitions: number[];
  /** CPU from the process's start until its services were connected (not counted in cpuSeconds). */
  startCpuSeconds: number;
  /** CPU of the last join (not counted in cpuSeconds). */
  joinCpuSeconds: number;
  /** Kafka requests by API since the count started. */
  requests: Record<string, number>;
  /** Minor page faults since the count started: heap memory taken (back) from the kernel. */
  pageFaults: number;
  /** Context switches since the count started (involuntary: preempted). */
  switches: { voluntary: number; involuntary: number };
  /** Garbage collection's main-thread pauses since the count started, ms by kind. */
  gcMs: Record<string, number>;
}

/** One member process (bench/ingest-member.ts), driven line by line. */
class Member {
  private readonly lines;
  private readonly exited: Promise<number | null>;
  readonly ready: Promise<void>;
  constructor(s: ServicesState, inFlight: number) {
    const nodeArgs = (process.env.ISOSCOPE_MEMBER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const argv = [...nodeArgs, MEMBER, s.kafka.brokers.join(','), s.questdb.http, s.questdb.pg, String(inFlight)];
    // ISOSCOPE_MEMBER_CPUS: the members run on these CPUs only (taskset), e.g. all on one core while
    // the bench, Kafka and QuestDB are kept on the other (`taskset -c 0 node …`): one and two
    // instances then have the same core, and neither competes with the services.
    const onCpus = process.env.ISOSCOPE_MEMBER_CPUS;
    const outDir = process.env.ISOSCOPE_MEMBER_OUT_DIR;
    const child = spawn(onCpus ? 'taskset' : process.execPath, onCpus ? ['-c', onCpus, process.execPath, ...argv] : argv, {
      // Answers come on fd 3; the member's stdout (V8's --trace-gc, say) goes to the bench's, or
      // with ISOSCOPE_MEMBER_OUT_DIR to a file per member (`<pid>.out`: V8's traces carry no pid).
      stdio: ['pipe', outDir ? 'pipe' : 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, ISOSCOPE_LOG_LEVEL: 'warn' },
    });
    this.child = child;
    if (outDir) child.stdout!.pipe(createWriteStream(join(outDir, `${child.pid}.out`)));
    child.stdin!.on('error', () => undefined); // a member that died is reported by next()
    this.lines = createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => child.on('exit', resolve));
    this.ready = this.expect('ready');
  }
  private readonly child;
  private async next(): Promise<string> {
    const r = await Promise.race([this.lines.next(), this.exited.then((code) => ({ done: true as const, value: `exited with ${code}` }))]);
    if (r.done) throw new Error(`an ingest member ended early (${String(r.value)})`);
    return r.value;
  }
  private async expect(word: string): Promise<void> {
    const l = await this.next();
    if (l !== word) throw new Error(`an ingest member said "${l}" instead of ${word}`);
  }
  private send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  async join(group: string, fromEnd = false): Promise<void> {
    this.send(`join ${group}${fromEnd ? ' from-end' : ''}`);
    await this.expect('joined');
  }
  go(): void {
    this.send('go');
  }
  async mark(): Promise<MemberResult> {
    this.send('mark');
    return JSON.parse(await this.next()) as MemberResult;
  }
  async leave(): Promise<MemberResult> {
    this.send('leave');
    return JSON.parse(await this.next()) as MemberResult;
  }
  /** Stops the process (SIGSTOP): it uses no CPU and reads nothing until resume(). */
  pause(): void {
    this.child.kill('SIGSTOP');
  }
  resume(): void {
    this.child.kill('SIGCONT');
  }
  private stopped = false;
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.send('stop');
    await this.next();
    await this.exited;
  }
}

type Fill = 'before' | 'during';

interface Run {
  instances: number;
  warm: boolean;
  /** Each instance in a group of its own, draining every sample (the contention control). */
  separate: boolean;
  rate: number;
  seconds: number;
  /** How the counted samples reached the topic: before the instances could read them, or meanwhile. */
  fill: Fill;
  /** Seconds the fill took (with `before`, the instances were stopped meanwhile). */
  fillSeconds: number;
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
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * One drain of `total` samples by `members` in a new group: they join, the group settles, the topic
 * is filled; rate from the start of the fill until all is visible; exact counts checked. With
 * `leadIn` > 0 (warm drains), that many samples are filled first and drained uncounted, and the
 * count starts once they are visible: the instances are busy from just before the counted part
 * on, as in a steady stream, rather than waking from a pause (a process that sat idle for the
 * other configuration's drain paid more in its next one, ~0.1 CPU-s: its heap had shrunk and
 * caches gone cold, docs/DECISIONS.md).
 */
async function drain(s: ServicesState, db: pg.Client, members: Member[], total: number, warm: boolean, fill: Fill, leadIn = 0, separate = false): Promise<Run> {
  const instances = members.length;
  await truncate(s).catch(() => undefined);
  const group = `scaleout-${instances}x${separate ? 's' : ''}-${Date.now().toString(36)}`;
  // `separate`: each member in a group of its own, so each drains every sample (the contention
  // control: as many busy instances as two in one group, without splitting the work).
  const groups = members.map((_, i) => (separate ? `${group}-${i}` : group));
  await Promise.all(members.map((m, i) => m.join(groups[i]!)));
  for (const g of new Set(groups)) await stable(s, g, separate ? 1 : instances);
  for (const m of members) m.go();
  const prefixes: string[] = [];
  if (leadIn > 0) {
    const lead = await prefill(s, leadIn, `so${instances}xl`, PARTITIONS, false);
    await visible(db, lead.prefix, leadIn);
    if (separate) await caughtUp(s, groups); // both groups, not only the first to write them
    await Promise.all(members.map((m) => m.mark()));
    prefixes.push(lead.prefix);
  }
  // `before`: the instances are stopped while the topic is filled, so that they drain a backlog at
  // their own pace; the time counts from their continuing. A stop shorter than the session timeout
  // (30 s) does not cost their group membership: the next heartbeat is late, not missed.
  if (fill === 'before') for (const m of members) m.pause();
  const tFill = performance.now();
  let filled;
  try {
    filled = await prefill(s, total, `so${instances}x${warm ? 'w' : 'c'}`, PARTITIONS, false);
  } finally {
    if (fill === 'before') for (const m of members) m.resume();
  }
  const fillSeconds = (performance.now() - tFill) / 1000;
  if (fill === 'before' && fillSeconds > 20) console.log(`  (the fill took ${fillSeconds.toFixed(1)} s while the instances were stopped: near the 30 s session timeout, a rebalance may follow)`);
  const t0 = fill === 'before' ? performance.now() : tFill;
  await visible(db, filled.prefix, total);
  if (separate) await caughtUp(s, groups);
  const secs = (performance.now() - t0) / 1000;
  const results = await Promise.all(members.map((m) => m.leave()));
  prefixes.push(filled.prefix);
  for (const [i, prefix] of prefixes.entries()) {
    const expected = i === prefixes.length - 1 ? total : leadIn;
    const where = `collector LIKE '${prefix}-%'`;
    const n = Number((await db.query(`SELECT count() n FROM samples WHERE ${where}`)).rows[0].n);
    const d = Number((await db.query(`SELECT count() n FROM (SELECT DISTINCT collector, seq, idx FROM samples WHERE ${where})`)).rows[0].n);
    if (n !== expected || d !== expected) throw new Error(`${instances} instance(s): QuestDB holds ${n} rows (${d} distinct) for ${expected} samples`);
  }
  if (results.some((r) => r.rows === 0)) throw new Error(`${instances} instance(s): an instance wrote nothing (${results.map((r) => r.rows).join(', ')} rows)`);
  const rows = results.reduce((sum, r) => sum + r.rows, 0);
  const written = separate ? total * instances : total;
  if (rows !== written) throw new Error(`${instances} instance(s) counted ${rows} samples written for ${written}`);
  const cpu = results.reduce((sum, r) => sum + r.cpuSeconds, 0);
  return { instances, warm, separate, rate: total / secs, seconds: secs, fill, fillSeconds, cpuPerM: cpu / (written / 1e6), members: results };
}

/** Waits until every group in `groups` has committed the samples topic up to its end. */
async function caughtUp(s: ServicesState, groups: string[]): Promise<void> {
  const admin = new Kafka({ brokers: s.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets('samples');
    for (const groupId of groups) {
      for (;;) {
        const [committed] = await admin.fetchOffsets({ groupId, topics: ['samples'] });
        const done = ends.every((e) => BigInt(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1') >= BigInt(e.high));
        if (done) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

async function spawnMembers(s: ServicesState, n: number, inFlight: number): Promise<Member[]> {
  const members = Array.from({ length: n }, () => new Member(s, inFlight));
  await Promise.all(members.map((m) => m.ready));
  return members;
}

function sumCpu(run: Run): number {
  return run.members.reduce((sum, m) => sum + m.cpuSeconds, 0);
}

function verdict(lo: number, hi: number): string {
  if (!(lo === lo && hi === hi)) return 'not settled (one pair)';
  if (lo >= 0.9 && hi <= 1.1) return 'met';
  if (hi < 0.9 || lo > 1.1) return 'not met';
  return 'not settled: the interval crosses the edge';
}

export async function main(): Promise<void> {
  const total = Number(arg('--samples') ?? 500_000);
  const pairs = Number(arg('--pairs') ?? 6);
  const coldPairs = Number(arg('--cold') ?? 2);
  const leadIn = Number(arg('--lead-in') ?? 2 * total);
  const controlPairs = Number(arg('--control') ?? 0);
  const inFlight = Number(arg('--partitions-in-flight') ?? DEFAULT_PARTITIONS_IN_FLIGHT);
  // --two-in-flight N: the two instances' setting, when it should differ from the one instance's
  // (e.g. 1 each: as many writes in flight to QuestDB in all as one instance with 2).
  const twoInFlight = Number(arg('--two-in-flight') ?? inFlight);
  // --same-work: two instances drain twice the samples (and lead-in), so each does the work one
  // instance does: the comparison at the same load per instance, as when instances are added
  // because the stream grew (the default keeps the topic's size, so each of two does half).
  const sameWork = process.argv.includes('--same-work');
  /** Samples a drain by `n` instances counts. */
  const sizeFor = (n: number, samples: number) => (sameWork ? samples * n : samples);
  const fill = arg('--fill') ?? 'before';
  if (fill !== 'before' && fill !== 'during') {
    console.error(`ingest-scaleout: --fill is before (the instances stopped while the topic is filled, then draining the backlog) or during (working while it is filled), got "${fill}"`);
    process.exit(2);
  }
  if (arg('--state-dir') ?? process.env.ISOSCOPE_BENCH_STATE_DIR) {
    // The pre-fill truncates the samples topic, which must have 4 partitions: its own services only.
    console.error('ingest-scaleout starts its own Kafka and QuestDB (it truncates the samples topic and needs it with 4 partitions); run it without --state-dir');
    process.exit(2);
  }
  if (arg('--repeat')) {
    console.error('ingest-scaleout: --repeat is gone; use --pairs N (warm pairs) and --cold N (cold pairs)');
    process.exit(2);
  }
  const { state, stop } = await benchServices();
  const [host, port] = state.questdb.pg.split(':');
  const db = new pg.Client({ host, port: Number(port), user: state.questdb.user, password: state.questdb.password, database: 'qdb' });
  await db.connect();
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const load = () => `load ${loadavg()[0]!.toFixed(1)}`;
  const nodeArgs = process.env.ISOSCOPE_MEMBER_NODE_ARGS ?? '';
  const spawned: Member[] = [];
  const print = (label: string, run: Run) => {
    const per = run.members.map((m, i) => `#${i + 1} ${fmt(m.rows)} rows in ${m.batches} batches, partitions ${m.partitions.join(',')}, ${m.cpuSeconds.toFixed(2)} CPU-s = ${Math.round((m.cpuSeconds / run.seconds) * 100)} % of a core (main thread ${m.mainThreadSeconds.toFixed(2)}, other threads ${m.otherThreadsSeconds.toFixed(2)})`).join('; ');
    const start = run.warm ? '' : `; start-up ${run.members.map((m) => (m.startCpuSeconds + m.joinCpuSeconds).toFixed(2)).join(' + ')} CPU-s not counted`;
    console.log(`  ${label} ${run.instances} instance${run.instances > 1 ? 's' : ''}${run.separate ? ' in groups of their own' : ''}, ${run.warm ? 'warm' : 'cold'}: ${fmt(run.rate)} rows/s (${run.seconds.toFixed(1)} s${run.fill === 'before' ? ` after a fill of ${run.fillSeconds.toFixed(1)} s` : ''}), ${run.cpuPerM.toFixed(2)} CPU-s per M samples (${per}${start}; ${load()}); every sample exactly once`);
    const asked = run.members.map((m, i) => `#${i + 1} ${Object.entries(m.requests).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ');
    const gc = run.members.map((m, i) => `#${i + 1} ${Object.entries(m.gcMs).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ') || 'none'}`).join('; ');
    console.log(`        Kafka requests: ${asked}; context switches voluntary/involuntary ${run.members.map((m) => `${m.switches.voluntary}/${m.switches.involuntary}`).join(' + ')}; minor page faults ${run.members.map((m) => m.pageFaults).join(' + ')}; GC pauses ms: ${gc}`);
  };
  try {
    const ddl = new QuestDbStore({ http: state.questdb.http, pg: state.questdb.pg });
    await ddl.start();
    await ddl.shutdown();
    const topics = new KafkaBus({ brokers: state.kafka.brokers, partitions: PARTITIONS }); // before any instance creates them with its default
    await topics.start();
    await topics.ensureTopics(['samples', 'events', 'partitions', 'runs', 'alerts', 'dead-letters']);
    await topics.shutdown();
    console.log(`ingest scale-out: ${fmt(total)} samples per drain${sameWork ? ` per instance (two instances drain ${fmt(2 * total)}: the same work each, --same-work)` : ''}, ${PARTITIONS} partitions, ${inFlight} partition(s) in flight per instance${twoInFlight !== inFlight ? ` (${twoInFlight} for each of two)` : ''}, ${coldPairs} cold and ${pairs} warm pairs of drains (one instance, two instances; ABBA order; each warm drain after an uncounted lead-in of ${fmt(leadIn)} samples; ${fill === 'before' ? 'the counted samples filled while the instances are stopped, then drained as a backlog' : 'the instances working while the topic is filled'}), Kafka + QuestDB + instances on the same machine (${cpus().length} CPUs)${nodeArgs ? `; member node flags: ${nodeArgs}` : ''}${process.env.ISOSCOPE_MEMBER_CPUS ? `; members on CPU ${process.env.ISOSCOPE_MEMBER_CPUS} only` : ''}${process.env.ISOSCOPE_MEMBER_FETCH ? `; members' fetch minBytes:maxWaitMs ${process.env.ISOSCOPE_MEMBER_FETCH}` : ''}; ${load()}`);
    const order = (k: number) => (k % 2 === 0 ? [1, 2] : [2, 1]);
    const cold: [Run, Run][] = [];
    for (let k = 0; k < coldPairs; k++) {
      const pair: Run[] = [];
      for (const n of order(k)) {
        const members = await spawnMembers(state, n, n === 2 ? twoInFlight : inFlight);
        spawned.push(...members);
        const run = await drain(state, db, members, sizeFor(n, total), false, fill);
        await Promise.all(members.map((m) => m.stop()));
        print(`cold #${k + 1}`, run);
        pair.push(run);
      }
      cold.push(pair.sort((a, b) => a.instances - b.instances) as [Run, Run]);
    }
    const solo = await spawnMembers(state, 1, inFlight);
    const duo = await spawnMembers(state, 2, twoInFlight);
    spawned.push(...solo, ...duo);
    // The warm processes' first drain warms them up (JIT, heap); not counted.
    for (const members of [solo, duo]) print('warm-up (not counted)', await drain(state, db, members, sizeFor(members.length, total), false, fill));
    const warm: [Run, Run][] = [];
    // The contention control (--control): one instance alone against two in groups of their own,
    // each draining every sample. Nothing is split, so what two cost more per row there is two busy
    // processes on this machine, not scale-out. Its pairs alternate with the warm ones.
    const control: [Run, Run][] = [];
    for (let k = 0; k < Math.max(pairs, controlPairs); k++) {
      for (const [set, separate, label] of [[warm, false, 'warm'], [control, true, 'control']] as const) {
        if (k >= (separate ? controlPairs : pairs)) continue;
        const pair: Run[] = [];
        for (const n of order(k)) {
          const run = await drain(state, db, n === 1 ? solo : duo, separate ? total : sizeFor(n, total), true, fill, separate ? leadIn : sizeFor(n, leadIn), separate && n === 2);
          print(`${label} #${k + 1}`, run);
          pair.push(run);
        }
        set.push(pair.sort((a, b) => a.instances - b.instances) as [Run, Run]);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const span = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
    for (const [label, set] of [['cold (fresh processes)', cold], ['warm (long-running processes)', warm], ['contention control (warm; two instances in groups of their own, each draining every sample, against one alone)', control]] as const) {
      if (set.length === 0) continue;
      const ratios = set.map(([one, two]) => two.cpuPerM / one.cpuPerM);
      const r = ratioStats(ratios);
      // One instance: F + m·N CPU-s; two: 2F + m·N. The difference is what an instance costs whatever
      // the rows (F), the rest the CPU per row (m), per pair.
      const fixed = set.map(([one, two]) => sumCpu(two) - sumCpu(one));
      const perRow = set.map(([one], i) => (sumCpu(one) - fixed[i]!) / (total / 1e6));
      const gcOf = (run: Run) => run.members.reduce((sum, m) => sum + Object.values(m.gcMs).reduce((a, b) => a + b, 0), 0);
      // The same ratio (per row) for the main thread's CPU alone and for the other threads' (V8's helpers, libuv's pool).
      const perRowOf = (run: Run, pick: (m: MemberResult) => number) => run.members.reduce((a, m) => a + pick(m), 0) / run.members.reduce((a, m) => a + m.rows, 0);
      const byThread = (pick: (m: MemberResult) => number) => ratioStats(set.map(([one, two]) => perRowOf(two, pick) / perRowOf(one, pick)));
      const main = byThread((m) => m.mainThreadSeconds);
      const other = byThread((m) => m.otherThreadsSeconds);
      console.log(`  ${label}: by thread, two / one: main thread geometric mean ${main.geo.toFixed(2)} (95 % interval ${main.lo.toFixed(2)}–${main.hi.toFixed(2)}), other threads ${other.geo.toFixed(2)} (${other.lo.toFixed(2)}–${other.hi.toFixed(2)}); one instance's CPU on its main thread ${span(set.map(([one]) => one.members[0]!.mainThreadSeconds / one.members[0]!.cpuSeconds))}`);
      if (set === warm && control.length === 0 && set.length >= 4) {
        // ABBA: pair k runs one instance first when k is even. A configuration's drain either follows
        // its own previous drain (the one-instance drain of an even pair after the first; the
        // two-instance drain of an odd pair) or follows two drains of the other while its processes
        // sat idle. Each kind of drain compared on its own: what idling costs each configuration.
        const after = (n: 1 | 2, own: boolean) => mean(set.flatMap((p, k) => ((n === 1 ? k % 2 === 0 && k > 0 : k % 2 === 1) === own ? [p[n - 1]!.cpuPerM] : [])));
        console.log(`  ${label}: by what came before, CPU per M samples: after their own previous drain one instance ${after(1, true).toFixed(2)}, two ${after(2, true).toFixed(2)} (two / one ${(after(2, true) / after(1, true)).toFixed(2)}); after the other configuration's two drains one ${after(1, false).toFixed(2)}, two ${after(2, false).toFixed(2)} (${(after(2, false) / after(1, false)).toFixed(2)})`);
      }
      console.log(`  ${label}: GC pauses per drain (all instances, ms) one instance ${span(set.map(([one]) => gcOf(one)))}, two instances ${span(set.map(([, two]) => gcOf(two)))}`);
      console.log(`  ${label}, ${set.length} pairs: CPU per M samples one instance ${span(set.map(([one]) => one.cpuPerM))}, two instances ${span(set.map(([, two]) => two.cpuPerM))}; two / one per pair ${ratios.map((x) => x.toFixed(2)).join(' ')}: median ${r.median.toFixed(2)}, geometric mean ${r.geo.toFixed(2)}, 95 % interval ${r.lo.toFixed(2)}–${r.hi.toFixed(2)} (goal 0.90–1.10: ${verdict(r.lo, r.hi)})${sameWork && set !== control ? '' : `; not following the rows: ${mean(fixed).toFixed(3)} CPU-s per instance and drain (two instances' CPU − one's; per pair ${span(fixed)}), per row ${mean(perRow).toFixed(2)} CPU-s per M samples`}`);
    }
    const pairsFile = arg('--pairs-file');
    if (pairsFile) {
      const mine = [...cold.map((p) => ({ warm: false, p })), ...warm.map((p) => ({ warm: true, p }))];
      for (const { warm: w, p: [one, two] } of mine) appendFileSync(pairsFile, `${JSON.stringify({ samples: total, warm: w, fill, inFlight, twoInFlight, sameWork, leadIn, one: one.cpuPerM, two: two.cpuPerM, load: loadavg()[0], at: new Date().toISOString() })}\n`);
      const all = existsSync(pairsFile) ? readFileSync(pairsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { samples: number; warm: boolean; fill?: Fill; inFlight?: number; twoInFlight?: number; sameWork?: boolean; leadIn?: number; one: number; two: number }) : [];
      for (const w of [false, true]) {
        const pooled = all.filter((x) => x.warm === w && x.samples === total && (x.sameWork ?? false) === sameWork && (x.leadIn ?? leadIn) === leadIn && (x.fill ?? 'during') === fill && (x.inFlight ?? DEFAULT_PARTITIONS_IN_FLIGHT) === inFlight && (x.twoInFlight ?? x.inFlight ?? DEFAULT_PARTITIONS_IN_FLIGHT) === twoInFlight);
        if (pooled.length === 0) continue;
        const r = ratioStats(pooled.map((x) => x.two / x.one));
        console.log(`  pooled over ${pairsFile}, ${w ? 'warm' : 'cold'}, ${pooled.length} pairs of ${fmt(total)}-sample drains (fill ${fill}): two / one median ${r.median.toFixed(2)}, geometric mean ${r.geo.toFixed(2)}, 95 % interval ${r.lo.toFixed(2)}–${r.hi.toFixed(2)} (goal 0.90–1.10: ${verdict(r.lo, r.hi)})`);
      }
    }
    for (const m of [...solo, ...duo]) await m.stop();
    // What an instance uses with nothing to do, over a warm two-instance drain's duration.
    const idleSeconds = warm.length > 0 ? mean(warm.map(([, two]) => two.seconds)) : 5;
    const [idler] = await spawnMembers(state, 1, inFlight);
    spawned.push(idler!);
    await idler!.join(`scaleout-idle-${Date.now().toString(36)}`, true);
    await new Promise((r) => setTimeout(r, 1000)); // the join's own requests (the feed's first lag check) done
    idler!.go();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idle = await idler!.leave();
    await idler!.stop();
    console.log(`  an instance with nothing to do used ${idle.cpuSeconds.toFixed(3)} CPU-s over ${idleSeconds.toFixed(1)} s (a warm two-instance drain's duration; Kafka requests ${Object.entries(idle.requests).map(([k, v]) => `${k} ${v}`).join(', ')}; ${load()})`);
    const source = warm.length > 0 ? warm : cold;
    const perM = mean(source.map(([, two]) => two.cpuPerM));
    const cores = (TARGET / 1e6) * perM;
    const instances = Math.ceil(cores / PLANNED_CORE_SHARE);
    console.log(`  projection for ${fmt(TARGET)} samples/s at ${perM.toFixed(2)} CPU-s per M samples (two ${warm.length > 0 ? 'warm' : 'cold'} instances, mean of ${source.length} drains, range ${span(source.map(([, two]) => two.cpuPerM))}): ${cores.toFixed(1)} cores of ingest (${((TARGET / 1e6) * Math.min(...source.map(([, two]) => two.cpuPerM))).toFixed(1)}–${((TARGET / 1e6) * Math.max(...source.map(([, two]) => two.cpuPerM))).toFixed(1)}), ${instances} instances at ${PLANNED_CORE_SHARE * 100}% of a core each, a samples topic of ≥ ${instances} partitions (Kafka's and QuestDB's own CPU not included)`);
  } finally {
    await Promise.all(spawned.map((m) => m.stop().catch(() => undefined)));
    await db.end();
    await stop();
  }
}

await main();
