/** The send queue hands the batches pushed in one go (a native sampler's flush) to one send. */
import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../bus/bus.js';
import { SendQueue } from './send-queue.js';

describe('SendQueue', () => {
  it('sends the batches pushed in one synchronous run together, in order, and later ones in a send of their own', async () => {
    const sends: string[][] = [];
    const producer = { start: async () => {}, shutdown: async () => {}, send: async (_topic: string, messages: BusMessage[]) => void sends.push(messages.map((m) => String(m.headers?.seq))) };
    const queue = new SendQueue(producer, 100, () => {});
    const push = (seq: number) => queue.push({ topic: 'samples', key: 'n1', seq, body: Buffer.from(`b${seq}`), count: 1 });
    for (let seq = 0; seq < 10; seq++) push(seq);
    await new Promise((r) => setTimeout(r, 20));
    push(10);
    await queue.close(1000);
    expect(sends).toEqual([['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], ['10']]);
    expect(queue.stats).toMatchObject({ batches: 11, samples: 11, dropped: 0, firstSeq: 0, lastSeq: 10 });
  });
});
