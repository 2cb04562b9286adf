/**
 * The registry of record types: one per Kafka topic and per table. Code that handles "any record"
 * iterates over `RECORDS`; code that handles one type imports it by name.
 */
import type { z } from 'zod';
import type { RecordDefinition } from './define.js';
import { alerts } from './records/alerts.js';
import { events } from './records/events.js';
import { partitions } from './records/partitions.js';
import { runs } from './records/runs.js';
import { samples } from './records/samples.js';

export const RECORDS = { samples, events, partitions, runs, alerts } as const;

export type RecordName = keyof typeof RECORDS;
export const RECORD_NAMES = Object.keys(RECORDS) as RecordName[];

/** A validated record of type N (defaults filled in). */
export type RecordOf<N extends RecordName> = z.output<(typeof RECORDS)[N]['schema']>;
/** What a producer may hand in for type N (defaulted fields optional). */
export type RecordInput<N extends RecordName> = z.input<(typeof RECORDS)[N]['schema']>;

export type Sample = RecordOf<'samples'>;
export type Event = RecordOf<'events'>;
export type PartitionRecord = RecordOf<'partitions'>;
export type RunRecord = RecordOf<'runs'>;
export type AlertRecord = RecordOf<'alerts'>;

export function isRecordName(name: string): name is RecordName {
  return Object.hasOwn(RECORDS, name);
}

/** The definition of a record type, widened for code that treats all types alike (DDL, writers). */
export function definitionOf(name: RecordName): RecordDefinition {
  return RECORDS[name] as unknown as RecordDefinition;
}
