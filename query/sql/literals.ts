/**
 * Values from users inside generated SQL. The Store interface takes SQL text (QuestDB's PG wire
 * and DuckDB both lack one shared parameter form here), so every value is validated against a
 * strict pattern first and only then written as a literal: names (runs, experiments, metrics,
 * nodes …) may hold letters, digits and `._:/@+-`, never quotes, spaces or semicolons; numbers
 * are checked integers. Anything else is refused with a message naming the parameter.
 */
import { z } from 'zod';

/** Run ids, experiment, workload, stack, node, metric, partition names. */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:/@+\-]{0,199}$/;

export const name = (what: string) =>
  z.string().regex(NAME_PATTERN, `expected a ${what}: 1–200 characters of letters, digits and . _ : / @ + - (no quotes or spaces)`);

/** A validated name as a SQL string literal (the doubling is a second guard; the pattern has no quote). */
export function str(value: string): string {
  if (!NAME_PATTERN.test(value)) throw new Error(`refusing to put ${JSON.stringify(value)} into SQL: it is not a plain name`);
  return `'${value.replaceAll("'", "''")}'`;
}

/** A whole number as a SQL literal. */
export function int(value: number | bigint): string {
  const s = String(value);
  if (!/^-?\d{1,19}$/.test(s)) throw new Error(`refusing to put ${s} into SQL: expected a whole number`);
  return s;
}

/** `IN ('a', 'b')` of validated names. */
export function inList(values: readonly string[]): string {
  if (values.length === 0) throw new Error('an IN list needs at least one value');
  return `(${values.map(str).join(', ')})`;
}
