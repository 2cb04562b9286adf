/**
 * Child process for the embedded bus's crash and lock tests (bundled by the test, run with node).
 *   produce <dir> <topic>  sends numbered messages, 8 sends in flight, printing `ack <first> <last>`
 *                          for each send that resolved, until it is killed
 *   hold <dir>             opens the bus, prints `locked`, and waits to be killed
 */
import { EmbeddedBus } from '../embedded-bus.js';

const [mode, dir, topic] = process.argv.slice(2);
const bus = new EmbeddedBus({ dir: dir! });
await bus.start();

if (mode === 'hold') {
  process.stdout.write('locked\n');
  setInterval(() => undefined, 60_000);
} else if (mode === 'produce') {
  await bus.ensureTopics([topic!]);
  const producer = bus.producer();
  const perSend = 10;
  let next = 0;
  const sender = async () => {
    for (;;) {
      const first = next;
      next += perSend;
      const batch = Array.from({ length: perSend }, (_, i) => ({ key: 'child', value: Buffer.from(`msg-${first + i}-${'x'.repeat(200)}`) }));
      await producer.send(topic!, batch);
      process.stdout.write(`ack ${first} ${first + perSend - 1}\n`); // pipes are synchronous on Linux
    }
  };
  process.stdout.write('producing\n');
  await Promise.all(Array.from({ length: 8 }, sender));
} else {
  process.stderr.write(`unknown mode ${mode}: expected produce or hold\n`);
  process.exit(2);
}
