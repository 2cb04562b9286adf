/**
 * The collector agent end to end on the embedded bus: real /proc, the real node inventory and a
 * followed Kitten console file become `samples` and `events` batches with their own sequences, and a
 * restarted agent resumes the file after what it already sent.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { decode } from '../schema/codec.js';
import type { Event, Sample } from '../schema/records.js';
import { pollUntil } from '../test/services.js';
import { CollectorAgent } from './agent.js';
import { buildSources } from './build.js';
import { SequenceFile } from './sequence.js';
import type { Source } from './source.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const KITTEN = new URL('./logs/kitten/testdata/full.log', import.meta.url).pathname;

async function runAgent(dir: string, logFile: string, batches: number): Promise<void> {
  const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
  await bus.start();
  await bus.ensureTopics(['samples', 'events']);
  const producer = bus.producer();
  const stateDir = join(dir, 'collector');
  const id = 'agent-test/procfs+inventory+logs';
  const agent = new CollectorAgent({
    node: 'agent-test',
    collectorId: id,
    ...buildSources(['procfs', 'inventory', 'logs'], { logs: { inputs: [{ type: 'file', path: logFile, source: 'kitten' }] }, inventory: { probes: false } }, { stateDir }),
    intervalMs: 50,
    producer,
    sequence: SequenceFile.forCollector(stateDir, id),
    eventSequence: SequenceFile.forCollector(stateDir, id, 'events'),
    maxBatches: batches,
  });
  await agent.start();
  await agent.done;
  await agent.shutdown();
  await producer.shutdown();
  await bus.shutdown();
}

async function readTopics(dir: string): Promise<{ samples: Sample[]; events: Event[]; eventSeqs: number[] }> {
  const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
  await bus.start();
  const samples: Sample[] = [];
  const events: Event[] = [];
  const eventSeqs: number[] = [];
  const consumer = bus.consumer({ group: `reader-${Date.now()}`, topics: ['samples', 'events'] });
  await consumer.run(async (b) => {
    for (const m of b.messages) {
      if (b.topic === 'samples') samples.push(...decode(m.value, 'samples').records);
      else {
        const d = decode(m.value, 'events');
        expect(d.errors).toEqual([]);
        events.push(...d.records);
        eventSeqs.push(d.records[0]!.seq);
      }
    }
  });
  await pollUntil(() => consumer.lag(), (lag) => lag === 0, 10_000, 20);
  await consumer.shutdown();
  await bus.shutdown();
  return { samples, events, eventSeqs };
}

describe('collector agent', () => {
  it('sends samples and events with their own sequences; a restart resumes the log after what was sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-agent-'));
    dirs.push(dir);
    const log = join(dir, 'kitten.log');
    copyFileSync(KITTEN, log);
    const lines = readFileSync(KITTEN, 'utf8').split('\n').filter((l) => l !== '').length;

    await runAgent(dir, log, 3);
    const first = await readTopics(dir);
    expect(first.events.filter((e) => e.kind === 'node_inventory')).toHaveLength(1);
    const fromFile = (events: Event[]) => events.filter((e) => e.kind !== 'node_inventory'); // kitten and palacios-in-kitten lines
    expect(fromFile(first.events)).toHaveLength(lines); // every line of the file, once
    expect(fromFile(first.events).some((e) => e.source === 'kitten')).toBe(true);
    expect(new Set(first.samples.map((s) => s.seq))).toEqual(new Set([0, 1, 2]));
    expect(first.eventSeqs[0]).toBe(0);

    appendFileSync(log, 'Kitten: a line written while the collector was down\n');
    await runAgent(dir, log, 2);
    const second = await readTopics(dir);
    const lines2 = fromFile(second.events);
    expect(lines2).toHaveLength(lines + 1); // the new line, and no old line again
    expect(lines2.at(-1)!.raw).toContain('written while the collector was down');
    expect(new Set(second.samples.map((s) => s.seq))).toEqual(new Set([0, 1, 2, 3, 4]));
    // events batches are numbered without gaps across the restart
    expect(second.eventSeqs).toEqual(second.eventSeqs.map((_, i) => i));
  });

  it('runs synchronous and asynchronous sources in one tick; a source that fails half-way leaves nothing in the batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-agent-'));
    dirs.push(dir);
    const bus = new EmbeddedBus({ dir: join(dir, 'bus') });
    await bus.start();
    await bus.ensureTopics(['samples', 'events']);
    const producer = bus.producer();
    const sources: Source[] = [
      { name: 'sync', start: async () => {}, shutdown: async () => {}, read: async () => [], readInto: (b) => b.add('sync.metric', 1, 0) },
      { name: 'broken', start: async () => {}, shutdown: async () => {}, read: async () => [], readInto: (b) => { b.add('half.written', 2); throw new Error('the device went away'); } },
      { name: 'async', start: async () => {}, shutdown: async () => {}, read: async () => [{ metric: 'async.metric', value: 3, cpu: 1, device: 'sda' }] },
      { name: 'late', start: async () => {}, shutdown: async () => {}, read: async () => [], readInto: async (b) => { await new Promise((r) => setTimeout(r, 1)); b.add('late.metric', 4); } },
    ];
    const agent = new CollectorAgent({
      node: 'agent-test', collectorId: 'agent-test/mixed', sources, intervalMs: 20, producer,
      sequence: SequenceFile.forCollector(join(dir, 'collector'), 'agent-test/mixed'), maxBatches: 3,
    });
    await agent.start();
    await agent.done;
    await agent.shutdown();
    await producer.shutdown();
    await bus.shutdown();
    const { samples } = await readTopics(dir);
    expect(new Set(samples.map((s) => s.seq))).toEqual(new Set([0, 1, 2]));
    const first = samples.filter((s) => s.seq === 0);
    expect(first.map((s) => [s.idx, s.source, s.metric, s.value, s.cpu, s.device ?? null])).toEqual([
      [0, 'sync', 'sync.metric', 1, 0, null],
      [1, 'async', 'async.metric', 3, 1, 'sda'],
      [2, 'late', 'late.metric', 4, -1, null],
    ]);
    expect(new Set(first.map((s) => s.ts)).size).toBe(1);
  });
});
