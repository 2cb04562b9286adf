/**
 * Experiments with a `kvm` partition, for real: a TCG guest (KVM where a probe boot works) on this
 * machine, workloads inside it through the guest agent, records through Kafka into QuestDB.
 * - kill -9 of `isoscope run` while its VM boots, and again while sysbench runs in the guest with
 *   stress-ng as background: the VM survives the orchestrator (QEMU is daemonized), each restart
 *   destroys it from the journal (a checkpoint for the booting one), records the run `abort`, and the
 *   third attempt runs the cell to the end: sysbench's events/s in the `runs` record,
 *   stress-ng's and sysbench's output as `events`, vCPU pinned to the partition's CPU.
 * - a workload that fails inside the guest, and a cancelled one: run `fail` / `abort`, VM gone.
 * The three run at once, each guest on its own CPU where there are two, to keep the file to minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import type { QuestDbStore } from '../store/questdb/questdb-store.js';
import { closeKafkaQuestDb, openKafkaQuestDb } from '../test/cluster.js';
import { pollUntil, servicesEnv, testServices, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import { loadCatalog } from './catalog/load.js';
import { partitionCgroup } from './drivers/cgroup-path.js';
import { vmSkipReason } from './drivers/kvm/testing.js';
import type { KvmHandle } from './drivers/kvm/kvm.js';
import { loadExperiment } from './experiment/load.js';
import { Runner, type RunSummary } from './runner.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'isoscope.js');
const tempDir = tempDirs('isoscope-kvm-e2e-');
const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
const lastCpu = online.split(/[-,]/).pop()!;
const firstCpu = online.split(/[-,]/)[0]!;
const skip = vmSkipReason();
if (skip) console.log(`kvm experiment tests skipped: ${skip}`);

/** Processes running a QEMU of this VM name (`-name isoscope-<partition>`). */
function qemuOf(partition: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`isoscope-${partition},`); } catch { return false; }
  }).map(Number);
}

/** VM directories of a partition left in the driver's state root. */
const vmDirs = (partition: string) => (existsSync('/tmp/isoscope-kvm') ? readdirSync('/tmp/isoscope-kvm').filter((d) => d.startsWith(`${partition}-`)) : []);

const partitionYaml = (name: string, cpu: string, extra = '') =>
  `{ name: ${name}, driver: kvm, cpus: "${cpu}", memMb: 256, options: { accel: auto, kvmProbeSeconds: 5, bootSeconds: 400${extra} } }`;

describe.skipIf(!!skip || process.getuid?.() !== 0).concurrent('experiments with a kvm partition (TCG guest here)', () => {
  let bus: KafkaBus;
  let store: QuestDbStore;
  let db: pg.Client;
  let samples: Ingest;
  beforeAll(async () => {
    ({ bus, store, db } = await openKafkaQuestDb());
    await bus.ensureTopics(['runs', 'partitions', 'events', 'samples']);
    // Only the samples produced from now on: the shared topic holds other tests' samples.
    samples = new Ingest(bus, store, { group: uniqueName('kvm-samples'), watermarkMs: 2000, fromBeginning: false, topics: ['samples'] });
    await samples.start();
  });
  afterAll(async () => {
    await samples?.shutdown();
    await closeKafkaQuestDb({ bus, store, db });
  });

  async function runExperiment(yaml: string, onProgress?: (runner: Runner, p: Parameters<NonNullable<ConstructorParameters<typeof Runner>[0]['onProgress']>>[0]) => void): Promise<RunSummary[]> {
    const dir = tempDir();
    mkdirSync(join(dir, 'catalog'));
    writeFileSync(join(dir, 'catalog', 'fails.yaml'), 'name: fails\nversion: 1\ndescription: exits 7 after saying where it ran\ncommand: [sh, -c, "echo ran in $(grep -o console=ttyS0 /proc/cmdline); exit 7"]\n');
    writeFileSync(join(dir, 'experiment.yaml'), yaml);
    const producer = bus.producer();
    await producer.start();
    try {
      const runner: Runner = new Runner({
        experiment: loadExperiment(join(dir, 'experiment.yaml')), catalog: loadCatalog([join(dir, 'catalog')]), producer, stateDir: join(dir, 'state'), onProgress: (p) => onProgress?.(runner, p),
        measure: { bus, kafkaBrokers: testServices().kafka.brokers, stateDir: join(dir, 'data') },
      });
      return await runner.execute();
    } finally {
      await producer.shutdown();
    }
  }

  it('a workload that fails inside the guest: run recorded fail with its exit code, VM and cgroup gone', async () => {
    const partition = uniqueName('kvmfail');
    const experiment = uniqueName('kvm-fail');
    const [s] = await runExperiment(`
experiment: ${experiment}
nodes: [{ name: local, transport: local }]
stacks: [{ name: vm, partitions: [${partitionYaml(partition, firstCpu)}] }]
workload: { entry: fails, partition: ${partition} }
matrix: { background: [false], timeoutSeconds: 600 }
measure: { enabled: false }
`);
    expect(s).toMatchObject({ phase: 'fail', message: expect.stringMatching(/workload fails on node local exited with code 7: ran in console=ttyS0/) });
    expect(qemuOf(partition)).toEqual([]);
    expect(vmDirs(partition)).toEqual([]);
    const cgroup = `/sys/fs/cgroup/cpuset/${partitionCgroup({ experiment, run: s!.run, node: 'local', partition })}`;
    expect(existsSync(cgroup)).toBe(false);
    expect(existsSync(dirname(cgroup))).toBe(false); // the run's directory too
  }, 600_000);

  it('a cancelled run: recorded abort, the guest workload stopped with the VM; the VM was counted as its partition', async () => {
    const partition = uniqueName('kvmcancel');
    let cancelled = false;
    const [s] = await runExperiment(`
experiment: ${uniqueName('kvm-cancel')}
nodes: [{ name: local, transport: local }]
stacks: [{ name: vm, partitions: [${partitionYaml(partition, lastCpu)}] }]
workload: { entry: stress-ng, partition: ${partition}, parameters: { stressor: cpu, workers: 1, seconds: 600 } }
matrix: { background: [false], timeoutSeconds: 900 }
measure: { intervalMs: 500, perf: { events: [task-clock], nodeWide: false }, ebpf: false, procfs: false, inventory: false }
`, (runner, p) => {
      if (p.type === 'step' && p.message.startsWith('running stress-ng') && !cancelled) {
        cancelled = true;
        setTimeout(() => runner.cancel(p.run), 3000);
      }
    });
    expect(cancelled).toBe(true);
    expect(s).toMatchObject({ phase: 'abort', message: expect.stringMatching(/was cancelled/) });
    expect(s!.seconds).toBeLessThan(500);
    expect(qemuOf(partition)).toEqual([]);
    expect(vmDirs(partition)).toEqual([]);
    // perf counted the partition's cgroup, which holds QEMU: the guest's CPU time is the partition's.
    const counted = await pollUntil(
      async () => (await db.query(`SELECT count() n, sum(value) v FROM samples WHERE run = $1 AND "partition" = $2 AND source = 'perf' AND metric = 'task-clock'`, [s!.run, partition])).rows[0]!,
      (r) => Number(r.n) > 0,
      60_000,
    );
    expect(Number(counted.n)).toBeGreaterThan(0);
    expect(Number(counted.v)).toBeGreaterThan(0);
  }, 900_000);

  it('kill -9 of isoscope run while the VM boots and mid-workload, restarts: VMs destroyed by recovery, then sysbench and stress-ng run in the guest', async () => {
    const dir = tempDir();
    const experiment = uniqueName('kvm-crash');
    const partition = uniqueName('kvmguest');
    writeFileSync(join(dir, 'experiment.yaml'), `
experiment: ${experiment}
nodes: [{ name: local, transport: local }]
stacks: [{ name: vm, partitions: [${partitionYaml(partition, lastCpu)}] }]
workload: { entry: sysbench, partition: ${partition}, parameters: { test: cpu, seconds: 4 } }
background: [{ entry: stress-ng, partition: ${partition}, parameters: { stressor: cpu, workers: 1, seconds: 900 } }]
matrix: { background: [true], warmupSeconds: 2, timeoutSeconds: 600 }
measure: { enabled: false }
`);
    const env = { ...process.env, ...servicesEnv(testServices()), ISOSCOPE_STATE_DIR: join(dir, 'state'), ISOSCOPE_DATA_DIR: join(dir, 'data'), ISOSCOPE_LOG_LEVEL: 'error' };
    const start = (): { child: ChildProcess; out: () => string; done: Promise<{ code: number | null; out: string }> } => {
      const child = spawn(process.execPath, [BIN, 'run', 'experiment.yaml', '--bus', 'kafka', '--progress', 'lines'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c));
      child.stderr!.on('data', (c: Buffer) => (out += c));
      return { child, out: () => out, done: new Promise((r) => child.on('exit', (code) => r({ code, out }))) };
    };
    const journal = join(dir, 'state', 'orchestrator', `${experiment}.journal`);
    type Entry = { t: string; phase?: string; run?: string; state?: { handle: KvmHandle } };
    const entries = (): Entry[] => (existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry) : []);

    const lastPartition = () => entries().filter((e) => e.t === 'partition').pop()?.state?.handle;
    const runStarts = () => entries().filter((e) => e.t === 'run' && e.phase === 'start').map((e) => e.run!);

    // First attempt: killed while its VM boots (QEMU started, create not finished): only the
    // driver's checkpoint in the journal knows the VM.
    const first = start();
    await pollUntil(async () => lastPartition(), (h) => (h?.pid ?? 0) > 0 || first.child.exitCode !== null, 600_000, 100);
    const booting = lastPartition()!;
    expect(booting.vcpus).toEqual([]); // a checkpoint, not the finished partition
    first.child.kill('SIGKILL');
    await first.done;
    expect(first.out()).not.toMatch(/running sysbench/);
    expect(qemuOf(partition)).toEqual([booting.pid]); // the VM outlives the orchestrator

    // Second attempt: recovery destroys the booting VM; killed while sysbench runs next to stress-ng.
    const second = start();
    await pollUntil(async () => second.out(), (o) => /running sysbench/.test(o) || second.child.exitCode !== null, 600_000, 200);
    expect(second.out()).toMatch(/1 recovered as aborted/);
    expect(second.out()).toMatch(/running sysbench/);
    expect(existsSync(`/proc/${booting.pid}`)).toBe(false);
    expect(existsSync(booting.dir)).toBe(false);
    const h = lastPartition()!;
    // Pinned: the vCPU thread may run only on the partition's CPU; QEMU's threads are in the partition's cgroup.
    expect(h.vcpus).toHaveLength(1);
    for (const v of h.vcpus) expect(readFileSync(`/proc/${h.pid}/task/${v.threadId}/status`, 'utf8')).toMatch(new RegExp(`Cpus_allowed_list:\\s+${lastCpu}\\n`));
    const cgroup = String(h.cgroup!.handle.path);
    expect(readFileSync(`${cgroup}/tasks`, 'utf8').split('\n')).toEqual(expect.arrayContaining(h.vcpus.map((v) => String(v.threadId))));
    const interrupted = runStarts();
    second.child.kill('SIGKILL');
    await second.done;
    expect(qemuOf(partition)).toEqual([h.pid]);

    // Third attempt: recovery destroys that VM, then the cell runs to the end.
    const third = await start().done;
    expect(third.code, third.out).toBe(0);
    expect(third.out).toMatch(/1 recovered as aborted/);
    expect(existsSync(`/proc/${h.pid}`)).toBe(false);
    expect(existsSync(h.dir)).toBe(false);
    expect(qemuOf(partition)).toEqual([]);
    expect(vmDirs(partition)).toEqual([]);
    expect(existsSync(cgroup)).toBe(false);

    const ingest = new Ingest(bus, store, { group: uniqueName('kvm-ingest'), watermarkMs: 0, topics: ['runs', 'partitions', 'events'] });
    await ingest.start();
    await ingest.waitUntilIdle(500);
    await ingest.shutdown();
    const runs = await pollUntil(
      async () => (await db.query('SELECT run, phase, result, unit, message, config FROM runs WHERE experiment = $1 ORDER BY ts', [experiment])).rows,
      (rows) => rows.length >= 6,
    );
    expect(runs.map((r) => r.phase)).toEqual(['start', 'abort', 'start', 'abort', 'start', 'end']);
    expect(interrupted).toHaveLength(2);
    expect(runs.filter((r) => r.phase === 'abort').map((r) => r.run)).toEqual(interrupted);
    expect(runs[1]!.message).toMatch(/orchestrator stopped during this run/);
    const end = runs[5]!;
    expect(end.unit).toBe('events/s');
    expect(end.result).toBeGreaterThan(0);
    const config = JSON.parse(end.config as string) as { partitions: { partition: string; accel: string; kernel: string; initramfs_custom: boolean }[] };
    expect(config.partitions).toEqual([expect.objectContaining({ partition, accel: expect.stringMatching(/^(tcg|kvm)$/), kernel: expect.stringMatching(/vmlinuz/), initramfs_custom: false })]);
    const parts = await pollUntil(
      async () => (await db.query('SELECT run, action, message FROM partitions WHERE partition = $1 ORDER BY ts', [partition])).rows,
      (rows) => rows.length >= 5,
    );
    // The first VM never finished create (no create record); recovery destroyed it all the same.
    expect(parts.map((p) => p.action)).toEqual(['destroy', 'create', 'destroy', 'create', 'destroy']);
    expect(parts[0]!.message).toMatch(/destroyed on restart/);
    expect(parts[1]!.message).toMatch(/^accel (tcg|kvm) \(.*\); 1 vCPU pinned to CPUs \d+$/);
    expect(parts[2]!.message).toMatch(/destroyed on restart/);
    const events = await pollUntil(
      async () => (await db.query(`SELECT message, fields FROM events WHERE run = $1 AND partition = $2 AND kind = 'app_output'`, [end.run, partition])).rows,
      (rows) => rows.some((r) => /events per second/.test(r.message)) && rows.some((r) => /stress-ng/.test(r.message)),
    );
    expect(events.some((r) => /events per second/.test(r.message) && JSON.parse(r.fields as string).role === 'workload')).toBe(true);
    expect(events.some((r) => /stress-ng/.test(r.message) && JSON.parse(r.fields as string).role === 'background')).toBe(true);
  }, 900_000);
});
