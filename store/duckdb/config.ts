/** Options of the DuckDB store, validated with zod (unknown keys are an error). */
import { z } from 'zod';
import { describeIssues } from '../../schema/codec.js';

export const duckDbStoreOptionsSchema = z
  .object({
    /**
     * The database file (created with its directory if missing), or `:memory:` for a database
     * that lives and dies with the store.
     * @example "./data/isoscope.duckdb"
     */
    path: z.string().min(1, 'expected a file path or ":memory:"'),
  })
  .strict();

export type DuckDbStoreOptions = z.input<typeof duckDbStoreOptionsSchema>;

/** Validates options; throws one message listing every problem. */
export function parseDuckDbStoreOptions(options: DuckDbStoreOptions): z.output<typeof duckDbStoreOptionsSchema> {
  const result = duckDbStoreOptionsSchema.safeParse(options);
  if (!result.success) throw new Error(`invalid DuckDB store options: ${describeIssues('options', result.error.issues)}`);
  return result.data;
}
