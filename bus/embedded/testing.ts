/** Test helper of the embedded bus: everything on a topic, read back from the beginning. */
import type { DeliveredMessage } from '../bus.js';
import { EmbeddedBus } from './embedded-bus.js';

/** Opens a bus on `dir` and reads every message of `topic` from the beginning (fresh group). */
export async function readAll(dir: string, topic: string): Promise<DeliveredMessage[]> {
  const bus = new EmbeddedBus({ dir });
  await bus.ensureTopics([topic]);
  const consumer = bus.consumer({ group: `reader-${Math.random()}`, topics: [topic] });
  const seen: DeliveredMessage[] = [];
  await consumer.run(async (b) => void seen.push(...b.messages));
  const deadline = Date.now() + 30_000;
  while ((await consumer.lag()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await bus.shutdown();
  return seen;
}
