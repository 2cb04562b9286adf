/**
 * One ingest instance of bench/ingest-scaleout, in a process of its own so its CPU time is its own:
 * joins the group and ingests until a `stop` line arrives on stdin, then prints one JSON line with
 * the CPU it used since a `go` line (or since just before it started; process.cpuUsage), the samples
 * it wrote and the partitions it handled.
 *
 *   node dist/bench/ingest-member.js <brokers> <questdb http> <questdb pg> <group> <partitionsInFlight> [from-end]
 *
 * `from-end`: a new group starts at the topic's end (the idle instance of the bench: it joins and
 * waits, and what it uses is the cost of being there).
 */
import { createInterface } from 'node:readline';
import { KafkaBus } from '../bus/kafka/kafka-bus.js';
import { Ingest } from '../ingest/ingest.js';
import { QuestDbStore } from '../store/questdb/questdb-store.js';

const [brokers, http, pgAddr, group, inFlight, from] = process.argv.slice(2);
if (!brokers || !http || !pgAddr || !group || !inFlight) {
  console.error('usage: ingest-member.js <brokers> <questdb http> <questdb pg> <group> <partitionsInFlight>');
  process.exit(2);
}
const bus = new KafkaBus({ brokers: brokers.split(','), clientId: `${group}-${process.pid}` });
const store = new QuestDbStore({ http, pg: pgAddr });
await bus.start();
await store.start();
const ingest = new Ingest(bus, store, { group, topics: ['samples'], partitionsInFlight: Number(inFlight), fromBeginning: from !== 'from-end' });
let cpu0 = process.cpuUsage();
await ingest.start();
/** CPU from the process's start until it is consuming (node, imports, connections, group join). */
const startCpuSeconds = (() => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; })();
process.stdout.write('started\n');
for await (const line of createInterface({ input: process.stdin })) {
  // `go`: the group has settled and the topic is about to be filled; the CPU counted starts here.
  if (line.trim() === 'go') cpu0 = process.cpuUsage();
  if (line.trim() !== 'stop') continue;
  const cpu = process.cpuUsage(cpu0);
  const offsets = await ingest.metrics.committedOffset.get();
  const partitions = offsets.values.map((v) => Number(v.labels.partition)).sort((a, b) => a - b);
  const rows = ingest.stats.records.samples;
  const batches = ingest.stats.batches;
  await ingest.shutdown();
  await store.shutdown();
  await bus.shutdown();
  process.stdout.write(`${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, rows, batches, partitions, startCpuSeconds })}\n`);
  process.exit(0);
}
