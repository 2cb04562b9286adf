/**
 * Where a collector's batches go: the embedded bus (already a durable local log), Kafka or a remote
 * isoscope over HTTP behind the disk spool (so an unreachable receiver loses nothing), or stdout as
 * JSON lines for debugging.
 */
import { join } from 'node:path';
import type { Bus, BusProducer } from '../bus/bus.js';
import { HttpProducer } from '../bus/http/http-producer.js';
import { StdoutProducer } from '../bus/stdout/stdout-producer.js';
import { UserError } from '../core/errors.js';
import { SpoolDir } from './spool/spool-dir.js';
import { SpoolingProducer } from './spool/spooling-producer.js';

export type SinkKind = 'kafka' | 'embedded' | 'stdout' | 'http';

export interface Sink {
  producer: BusProducer;
  /** The spool in front of Kafka, if any (for self-telemetry). */
  spooling: SpoolingProducer | null;
}

export interface SinkOptions {
  /** The configured bus (kafka, embedded); null for stdout and http. */
  bus: Bus | null;
  stateDir: string;
  spoolMaxBytes: number;
  http?: { url: string; token: string } | undefined;
  /**
   * The spool writes and fdatasyncs on the event loop (SpoolDirOptions.writeOnLoop): right for a
   * collector process (one spool, written once a second); a process with many (loadgen) says false.
   * @default true
   */
  spoolWriteOnLoop?: boolean;
}

export function createSink(kind: SinkKind, o: SinkOptions): Sink {
  if (kind === 'stdout') return { producer: new StdoutProducer(), spooling: null };
  if (kind === 'embedded') return { producer: o.bus!.producer(), spooling: null };
  let target: BusProducer;
  if (kind === 'http') {
    if (!o.http) throw new UserError('the http sink needs collector.http.url and collector.http.token (the receiving isoscope up\'s query.token)');
    target = new HttpProducer(o.http);
  } else {
    // Kafka: the producer that writes its requests itself (bus/kafka/direct-producer.ts), where the bus has one.
    const bus = o.bus! as Bus & { directProducer?: () => BusProducer };
    target = bus.directProducer ? bus.directProducer() : bus.producer();
  }
  const spooling = new SpoolingProducer(target, new SpoolDir(join(o.stateDir, 'spool'), o.spoolMaxBytes, { writeOnLoop: o.spoolWriteOnLoop ?? true }));
  return { producer: spooling, spooling };
}
