/**
 * For producers that must start while the bus is away (node collectors, loadgen): connect and create
 * the topics in the background, retrying until it works, while batches wait in the disk spool.
 */
import type { Bus } from './bus.js';

export async function ensureTopicsEventually(bus: Bus, topics: string[], who: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await bus.start();
      await bus.ensureTopics(topics);
      return;
    } catch (err) {
      if (attempt === 1) process.stderr.write(`${who}: ${(err as Error).message}; spooling to disk until Kafka is reachable.\n`);
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * attempt)).unref());
    }
  }
}
