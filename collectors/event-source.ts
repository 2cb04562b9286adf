/**
 * The contract for sources that produce `events` (and, from log lines like Palacios telemetry, some
 * `samples`), next to the sample sources of source.ts. The agent reads them every interval, sends
 * what they returned, and only then calls `commit()`, so a source that remembers its position
 * (a file tailer's offset, a /dev/kmsg sequence number) resumes after what was sent.
 */
import { nowNs } from '../core/clock.js';
import type { Lifecycle } from '../schema/lifecycle.js';
import type { RecordInput } from '../schema/records.js';
import type { InventorySource } from './inventory/inventory.js';
import type { LogStream } from './logs/log-stream.js';

export type SourceEvent = Omit<RecordInput<'events'>, 'node' | 'collector' | 'seq' | 'idx'>;
export type SourceEventSample = Omit<RecordInput<'samples'>, 'node' | 'collector' | 'seq' | 'idx'>;

export interface EventSource extends Lifecycle {
  readonly name: string;
  read(): Promise<{ events: SourceEvent[]; samples: SourceEventSample[] }>;
  /** Everything returned by `read()` so far was sent. */
  commit?(): Promise<void>;
}

/** The node inventory as an event source: one event at start and one whenever it changes. */
export class InventoryEvents implements EventSource {
  readonly name = 'inventory';
  constructor(private readonly inventory: InventorySource) {}
  start(): Promise<void> {
    return this.inventory.start();
  }
  async read(): Promise<{ events: SourceEvent[]; samples: SourceEventSample[] }> {
    const event = await this.inventory.collect();
    return { events: event ? [{ ...event, ts: nowNs() }] : [], samples: [] };
  }
  shutdown(): Promise<void> {
    return this.inventory.shutdown();
  }
}

/** Followed log streams (files, /dev/kmsg, console commands) as one event source. */
export class LogEvents implements EventSource {
  readonly name = 'logs';
  constructor(private readonly streams: LogStream[]) {}
  async start(): Promise<void> {
    for (const s of this.streams) await s.start();
  }
  async read(): Promise<{ events: SourceEvent[]; samples: SourceEventSample[] }> {
    const events: SourceEvent[] = [];
    const samples: SourceEventSample[] = [];
    for (const s of this.streams) {
      const batch = await s.read();
      events.push(...batch.events);
      samples.push(...batch.samples);
    }
    return { events, samples };
  }
  async commit(): Promise<void> {
    for (const s of this.streams) await s.commit();
  }
  async shutdown(): Promise<void> {
    for (const s of this.streams) await s.shutdown().catch(() => undefined);
  }
}
