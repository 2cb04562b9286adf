/**
 * Where a collector's batches go: the embedded bus (already a durable local log), Kafka behind the
 * disk spool (so an unreachable Kafka loses nothing), or stdout as JSON lines for debugging.
 */
import { join } from 'node:path';
import type { Bus, BusProducer } from '../bus/bus.js';
import { StdoutProducer } from '../bus/stdout/stdout-producer.js';
import { SpoolDir } from './spool/spool-dir.js';
import { SpoolingProducer } from './spool/spooling-producer.js';

export type SinkKind = 'kafka' | 'embedded' | 'stdout';

export interface Sink {
  producer: BusProducer;
  /** The spool in front of Kafka, if any (for self-telemetry). */
  spooling: SpoolingProducer | null;
}

/** @param bus the configured bus (null for stdout) */
export function createSink(kind: SinkKind, bus: Bus | null, stateDir: string, spoolMaxBytes: number): Sink {
  if (kind === 'stdout' || !bus) return { producer: new StdoutProducer(), spooling: null };
  if (kind === 'embedded') return { producer: bus.producer(), spooling: null };
  const spooling = new SpoolingProducer(bus.producer(), new SpoolDir(join(stateDir, 'spool'), spoolMaxBytes));
  return { producer: spooling, spooling };
}
