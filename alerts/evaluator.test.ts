/**
 * A real run: the real collector (perf counting the cgroup of a busy "workload" pinned to CPU 0,
 * 250 ms interval) produces to the embedded bus while the evaluator consumes the same bus. Real
 * stress-ng pinned to the workload's CPU starts mid-run: a signed webhook must reach a local
 * receiver within a few sampling intervals of the onset, and resolve after stress-ng stops. The
 * same run without stress-ng must fire nothing. A receiver on loopback without allowPrivate gets
 * nothing and the failure lands on the bus as an `alert_delivery_failed` event.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Contention } from '../bench/contention.js';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { CollectorAgent } from '../collectors/agent.js';
import { buildSources } from '../collectors/build.js';
import { SequenceFile } from '../collectors/sequence.js';
import { decode, encode } from '../schema/codec.js';
import type { AlertRecord, Event, Sample } from '../schema/records.js';
import { isRoot, perfCapability, skipForMissingCapability } from '../collectors/perf/kernel-gate.js';
import { pollUntil, uniqueName } from '../test/services.js';
import { tempDirs } from '../test/temp-dirs.js';
import type { WebhookBody } from './delivery/payload.js';
import { verify } from './delivery/sign.js';
import { startReceiver, type TestReceiver } from './delivery/testing.js';
import { Evaluator } from './evaluator.js';
import { parseRules } from './rules/load.js';

const tempDir = tempDirs('isoscope-alerts-eval-');
const INTERVAL_MS = 250;
const SECRET = 'run-test-secret-0123456789';
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined); });

const rulesYaml = (url: string, allowPrivate: boolean) => `
receivers:
  - name: local
    url: ${url}
    secret: ${SECRET}
    allowPrivate: ${allowPrivate}
    initialBackoff: 50ms
    maxBackoff: 200ms
rules:
  # A busy loop alone gets ~${INTERVAL_MS} ms of CPU per ${INTERVAL_MS} ms interval; below half it is being crowded out.
  - name: workload-starved
    metric: task-clock
    scope: { source: perf, labels: { cgroup: "/isoscope-alerts-.*" }, by: [node, cgroup, run] }
    detector: { kind: threshold, op: "<", value: ${0.5 * INTERVAL_MS * 1e6} }
    for: 500ms
    severity: critical
    receivers: [local]
  # The same series through the change-point detector (no receiver: records only).
  - name: workload-change
    metric: task-clock
    scope: { source: perf, labels: { cgroup: "/isoscope-alerts-.*" }, by: [node, cgroup, run] }
    detector: { kind: changepoint, warmup: 8, k: 1, h: 8, direction: below, minRelStd: 0.1 }
    for: 500ms
`;

interface Harness {
  bus: EmbeddedBus;
  receiver: TestReceiver;
  evaluator: Evaluator;
  run: string;
  node: string;
  contention: Contention;
  /** task-clock values of the run evaluated so far. */
  values: () => number;
  cgroup: string;
}

/** Why the run tests cannot run here (skipped, printing it; a failure under ISOSCOPE_REQUIRE_KERNEL=1), or null. */
function missing(): string | null {
  const perf = perfCapability();
  if (!perf.ok) return perf.why;
  if (!isRoot()) return 'the run tests must be root: they create a cgroup and raise the autogroup priority of the workload';
  if (spawnSync('stress-ng', ['--version']).status !== 0) return 'stress-ng is not installed (apt-get install stress-ng)';
  return null;
}

async function startRun(skip: (note?: string) => never, allowPrivate = true): Promise<Harness> {
  const why = missing();
  if (why) skipForMissingCapability(skip, why);
  const dir = tempDir();
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
  await bus.start();
  cleanup.push(() => bus.shutdown());
  await bus.ensureTopics(['samples', 'runs', 'partitions', 'alerts', 'events']);
  const node = uniqueName('alerts-node');
  const run = uniqueName('run');
  const producer = bus.producer();
  await producer.start();
  cleanup.push(() => producer.shutdown());
  // The pinned "workload": a busy loop on CPU 0 in a cgroup that perf counts, in a session of its
  // own so the other tests sharing this machine take little from it (bench/contention.ts).
  const contention = new Contention(uniqueName('isoscope-alerts'));
  cleanup.push(() => contention.stop());
  await contention.start();
  const cgroup = contention.cgroup;
  let counted = false;
  let values = 0;
  const onSample = (s: Sample) => {
    if (s.run === run && s.metric === 'task-clock') values++;
    if (s.metric === 'task-clock' && s.value > 0.5 * INTERVAL_MS * 1e6) counted = true;
    if (process.env.ALERTS_TRACE) process.stderr.write(`trace ${Date.now()} ${s.run} ${s.metric} ${s.value}\n`);
  };
  const evaluator = new Evaluator(bus, { onSample, rules: parseRules(rulesYaml(receiver.url, allowPrivate), 'test-rules.yaml'), outboxDir: join(dir, 'outbox'), seriesBaseUrl: 'http://127.0.0.1:7410', node, store: null, group: uniqueName('alerts') });
  await evaluator.start();
  cleanup.push(() => evaluator.shutdown(2000));
  const stateDir = join(dir, 'collector');
  const agent = new CollectorAgent({
    node,
    collectorId: `${node}/perf`,
    ...buildSources(['perf'], { perf: { events: ['task-clock', 'context-switches'], scope: { kind: 'cgroup', paths: [cgroup], cpus: [0] } } }, { stateDir }),
    intervalMs: INTERVAL_MS,
    // The delay is asserted in intervals: each tick is sent at once (the native sampler's default
    // sends once a second, which adds up to a second to alerting).
    flushEveryMs: INTERVAL_MS,
    producer,
    sequence: SequenceFile.forCollector(stateDir, `${node}/perf`),
  });
  await agent.start();
  cleanup.push(() => agent.shutdown(2000));
  // perf counts a cgroup on a CPU from the first context switch there after the counter opened: the
  // run starts once the workload shows up in the counts (samples outside a run are not evaluated).
  await pollUntil(async () => counted, (c) => c, 10_000, 20);
  await producer.send('runs', [{ key: run, value: encode('runs', [{ ts: BigInt(Date.now()) * 1_000_000n, run, experiment: 'alerts-test', workload: 'busy-loop', phase: 'start', nodes: node, node_count: 1, stack: 'linux', background: false, repetition: 1 }]) }]);
  await pollUntil(async () => evaluator.index.runAt(node, BigInt(Date.now()) * 1_000_000n), (r) => r === run, 5000, 20);
  return { bus, receiver, evaluator, run, node, contention, cgroup, values: () => values };
}

/** Every record of a topic on the bus so far. */
async function topic<N extends 'alerts' | 'events'>(bus: EmbeddedBus, name: N): Promise<(N extends 'alerts' ? AlertRecord : Event)[]> {
  const c = bus.consumer({ group: uniqueName('reader'), topics: [name] });
  const out: unknown[] = [];
  await c.run(async (b) => { for (const m of b.messages) out.push(...decode(m.value, name).records); });
  await pollUntil(() => c.lag(), (n) => n === 0, 5000, 20);
  await c.shutdown();
  return out as (N extends 'alerts' ? AlertRecord : Event)[];
}

describe('alerts on a real run', () => {
  it('stress-ng on the workload CPU fires a signed webhook within a few intervals, and it resolves', async (ctx) => {
    const h = await startRun(ctx.skip);
    // Let the workload run alone for a while: nothing fires.
    // Long enough for the CUSUM warm-up (8 values).
    await pollUntil(async () => h.values(), (n) => n >= 12, 10_000, 50);
    expect(h.receiver.received).toEqual([]);
    const onset = Date.now();
    process.stderr.write(`trace ${Date.now()} ONSET\n`);
    h.contention.stress();
    const fired = await pollUntil(async () => h.receiver.received.length, (n) => n >= 1, 10_000, 20);
    expect(fired).toBe(1);
    const delayMs = h.receiver.received[0]!.atMs - onset;
    process.stderr.write(`alerts: webhook ${delayMs} ms after the stress-ng onset (interval ${INTERVAL_MS} ms, for 500 ms)\n`);
    // `for` (2 intervals) + the interval in which contention began + delivery: a few intervals.
    expect(delayMs).toBeLessThan(8 * INTERVAL_MS);
    const first = h.receiver.received[0]!;
    expect(verify(SECRET, first.body, first.headers['x-isoscope-signature'] as string)).toBe(true);
    const body = JSON.parse(first.body) as WebhookBody;
    expect(body).toMatchObject({ version: '4', status: 'firing', receiver: 'local', run: h.run, node: h.node });
    expect(body.alerts[0]!.labels).toMatchObject({ alertname: 'workload-starved', severity: 'critical', cgroup: `/${h.cgroup}`, run: h.run });
    expect(body.seriesUrl).toContain(`run=${h.run}`);
    // The CUSUM rule fires too (it needs a few more values than the threshold).
    expect(await pollUntil(async () => h.evaluator.stats.fired, (n) => n >= 2, 10_000, 20)).toBe(2);
    // Interference over: the incident resolves (one firing, one resolved; never a second firing).
    await h.contention.calm();
    await pollUntil(async () => h.receiver.received.length, (n) => n >= 2, 10_000, 20);
    const resolved = JSON.parse(h.receiver.received[1]!.body) as WebhookBody;
    expect(resolved.status).toBe('resolved');
    expect(resolved.alerts[0]!.fingerprint).toBe(body.alerts[0]!.fingerprint);
    expect(resolved.alerts[0]!.endsAt).not.toBe('0001-01-01T00:00:00Z');
    const all = await topic(h.bus, 'alerts');
    expect(all.filter((r) => r.rule === 'workload-change').map((r) => r.state)[0]).toBe('firing');
    const records = all.filter((r) => r.rule === 'workload-starved');
    expect(records.map((r) => [r.state, r.rule, r.run])).toEqual([['firing', 'workload-starved', h.run], ['resolved', 'workload-starved', h.run]]);
    expect(records[0]!.alert).toBe(records[1]!.alert);
    expect(records[0]!.value).toBeLessThan(0.5 * INTERVAL_MS * 1e6);
  });

  it('the same run without stress-ng fires nothing', async (ctx) => {
    const h = await startRun(ctx.skip);
    await pollUntil(async () => h.values(), (n) => n >= 16, 15_000, 50);
    expect(h.values()).toBeGreaterThanOrEqual(16);
    expect(h.evaluator.stats.fired).toBe(0);
    expect(h.receiver.received).toEqual([]);
    expect(await topic(h.bus, 'alerts')).toEqual([]);
  });

  it('a loopback receiver without allowPrivate gets nothing; the failure is an event on the bus', async (ctx) => {
    const h = await startRun(ctx.skip, false);
    await pollUntil(async () => h.values(), (n) => n >= 2, 10_000, 50);
    h.contention.stress();
    await pollUntil(async () => h.evaluator.deliverer.stats.failed, (n) => n >= 1, 10_000, 20);
    expect(h.receiver.received).toEqual([]);
    const events = await pollUntil(() => topic(h.bus, 'events'), (es) => es.length >= 1, 5000, 100);
    expect(events[0]).toMatchObject({ kind: 'alert_delivery_failed', level: 'error', run: h.run, node: h.node });
    expect(events[0]!.message).toMatch(/private\/loopback address/);
    expect(JSON.stringify(events[0]!.fields)).not.toContain(SECRET);
  });
});
