/**
 * Unit tests of the control feed's wait (`settle`) against a scripted fake bus: it waits for the
 * deadline, then for a lag-zero observation made after it; it stops waiting on abort, fails when
 * the feed failed, and heartbeats meanwhile.
 */
import { describe, expect, it } from 'vitest';
import type { BatchHandler, Bus, BusConsumer, ConsumerOptions } from '../bus/bus.js';
import { encode } from '../schema/codec.js';
import { ControlFeed } from './control-feed.js';

class FakeConsumer implements BusConsumer {
  handler: BatchHandler | null = null;
  lagCalls: number[] = [];
  private fail: (err: unknown) => void = () => undefined;
  private readonly done = new Promise<void>((_, reject) => (this.fail = reject));
  constructor(readonly options: ConsumerOptions, public lagValue = 0) {}
  async start() {}
  async run(handler: BatchHandler) { this.handler = handler; }
  async lag() { this.lagCalls.push(Date.now()); return this.lagValue; }
  async partitionLag() { return [{ topic: 'runs', partition: 0, lag: await this.lag() }]; }
  stopped() { return this.done; }
  crash(err: Error) { this.fail(err); }
  async shutdown() {}
}

function fakeBus(lag: number): { bus: Bus; consumer: () => FakeConsumer } {
  let made: FakeConsumer | null = null;
  const bus = {
    kind: 'embedded',
    start: async () => {},
    shutdown: async () => {},
    ensureTopics: async () => {},
    producer: () => { throw new Error('not needed'); },
    consumer: (o: ConsumerOptions) => (made = new FakeConsumer(o, lag)),
  } as unknown as Bus;
  return { bus, consumer: () => made! };
}

describe('ControlFeed', () => {
  it('reads runs and partitions from the beginning with a group of its own, and applies them', async () => {
    const { bus, consumer } = fakeBus(0);
    const feed = new ControlFeed(bus, 'ingest-g');
    await feed.start();
    expect(consumer().options).toMatchObject({ topics: ['runs', 'partitions'], fromBeginning: true });
    expect(consumer().options.group).toMatch(/^ingest-g\.control\./);
    const value = encode('partitions', [{ ts: 10n, partition: 'p', node: 'n', driver: 'kvm', action: 'create', cpus: '0-x', mem_mb: 1 }, { ts: 10n, partition: 'q', node: 'n', driver: 'kvm', action: 'create', cpus: '1', mem_mb: 1 }]);
    await consumer().handler!({ topic: 'partitions', partition: 0, messages: [{ topic: 'partitions', partition: 0, offset: '0', key: null, value, timestampMs: 0 }] });
    expect(feed.stats).toEqual({ applied: 1, rejected: 1 });
    expect(feed.index.partitionAt('n', 1, 11n)?.partition).toBe('q');
  });

  it('waits for the deadline, then for a lag-zero check started after it', async () => {
    const { bus, consumer } = fakeBus(0);
    const feed = new ControlFeed(bus, 'g');
    await feed.start();
    const readyAt = Date.now() + 300;
    await feed.settle(readyAt, new AbortController().signal);
    expect(Date.now()).toBeGreaterThanOrEqual(readyAt);
    expect(consumer().lagCalls.some((t) => t >= readyAt)).toBe(true);
    const calls = consumer().lagCalls.length;
    await feed.settle(readyAt - 100, new AbortController().signal); // already proven caught up since
    expect(consumer().lagCalls.length).toBe(calls);
  });

  it('keeps waiting (and heartbeating) while the feed lags, and stops waiting on abort', async () => {
    const { bus, consumer } = fakeBus(3);
    const feed = new ControlFeed(bus, 'g');
    await feed.start();
    const abort = new AbortController();
    let beats = 0;
    const waiting = feed.settle(Date.now(), abort.signal, async () => void beats++);
    setTimeout(() => abort.abort(), 1300);
    const started = Date.now();
    await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    expect(consumer().lagCalls.length).toBeGreaterThan(5);
    expect(beats).toBeGreaterThanOrEqual(1);
  });

  it('lets a lagging feed catch up, then releases the waiter', async () => {
    const { bus, consumer } = fakeBus(2);
    const feed = new ControlFeed(bus, 'g');
    await feed.start();
    setTimeout(() => (consumer().lagValue = 0), 400);
    const started = Date.now();
    await feed.settle(Date.now(), new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('fails a waiter when the feed has failed, saying so', async () => {
    const { bus, consumer } = fakeBus(1);
    const feed = new ControlFeed(bus, 'g');
    await feed.start();
    consumer().crash(new Error('broker gone'));
    await expect(feed.settle(Date.now(), new AbortController().signal)).rejects.toThrow(/^the control feed \(runs, partitions\) of ingest group g failed, so samples cannot be tagged: broker gone$/);
  });
});
