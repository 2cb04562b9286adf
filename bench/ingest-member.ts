/**
 * One ingest instance of bench/ingest-scaleout, in a process of its own so its CPU time is its own:
 * joins the group and ingests until a `stop` line arrives on stdin, then prints one JSON line with
 * the CPU it used since a `go` line (or since just before it started; process.cpuUsage), the samples
 * it wrote and the batches, and the partitions it handled. A `mark` line prints the same for the
 * time since `go` or the last `mark` and starts a new count (the bench's second, warm drain).
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
let rows0 = 0;
let batches0 = 0;
/** What this instance did since `go` or the last `mark`, and a new start for the next count. */
async function sinceMark(): Promise<string> {
  const cpu = process.cpuUsage(cpu0);
  const offsets = await ingest.metrics.committedOffset.get();
  const partitions = offsets.values.map((v) => Number(v.labels.partition)).sort((a, b) => a - b);
  const out = { cpuSeconds: (cpu.user + cpu.system) / 1e6, rows: ingest.stats.records.samples - rows0, batches: ingest.stats.batches - batches0, partitions, startCpuSeconds };
  cpu0 = process.cpuUsage();
  rows0 = ingest.stats.records.samples;
  batches0 = ingest.stats.batches;
  return `${JSON.stringify(out)}\n`;
}
for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  // `go`: the group has settled and the topic is about to be filled; the CPU counted starts here.
  if (command === 'go') cpu0 = process.cpuUsage();
  // `mark`: one drain is done; its figures, and the next drain's count starts (same process, warm).
  if (command === 'mark') process.stdout.write(await sinceMark());
  if (command !== 'stop') continue;
  const last = await sinceMark();
  await ingest.shutdown();
  await store.shutdown();
  await bus.shutdown();
  process.stdout.write(last);
  process.exit(0);
}
