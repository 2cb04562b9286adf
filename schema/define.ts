/**
 * `defineRecord` turns a table of columns into a record type: its zod validator (strict: unknown
 * fields are an error), its dedup keys and its storage layout. Everything else in schema/ reads the
 * definitions made with it, so a field is written down exactly once.
 */
import { z } from 'zod';
import type { ColumnSpec } from './columns.js';

export type Columns = Record<string, ColumnSpec>;

export interface RecordDefinition<C extends Columns = Columns> {
  /** Record type = Kafka topic = table name. */
  name: string;
  doc: string;
  columns: C;
  /**
   * Columns that identify one record: a re-delivered record with the same keys overwrites the first
   * (QuestDB DEDUP UPSERT KEYS, DuckDB primary key). Always includes the designated timestamp `ts`.
   */
  dedupKeys: (keyof C & string)[];
  /** QuestDB partitioning of the table by `ts`. */
  partitionBy: 'HOUR' | 'DAY' | 'MONTH';
  schema: z.ZodObject<{ [K in keyof C]: C[K]['zod'] }, z.core.$strict>;
}

export function defineRecord<const C extends Columns>(def: Omit<RecordDefinition<C>, 'schema'>): RecordDefinition<C> {
  if (!('ts' in def.columns) || def.columns.ts!.kind !== 'timestamp') {
    throw new Error(`record type ${def.name}: a designated timestamp column "ts" is required`);
  }
  if (!def.dedupKeys.includes('ts')) throw new Error(`record type ${def.name}: dedup keys must include "ts"`);
  const shape = Object.fromEntries(Object.entries(def.columns).map(([name, spec]) => [name, spec.zod]));
  const schema = z.object(shape).strict() as RecordDefinition<C>['schema'];
  return { ...def, schema };
}
