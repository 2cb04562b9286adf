/** Options of the embedded bus, validated with zod (unknown keys are an error). */
import { z } from 'zod';
import { describeIssues } from '../../schema/codec.js';

export const embeddedBusOptionsSchema = z
  .object({
    /** Directory holding the topic logs, committed offsets and the lock file, e.g. `./data/bus`. */
    dir: z.string().min(1, 'expected a directory path'),
    /**
     * Most messages handed to a consumer's handler in one batch.
     * @default 1000
     */
    batchMaxMessages: z.number().int().min(1).max(1_000_000).default(1000),
    /**
     * Size at which a topic's log rolls over to a new segment file, in bytes.
     * @default 67108864 (64 MiB)
     */
    segmentBytes: z.number().int().min(4096).max(2 ** 40).default(64 * 1024 * 1024),
  })
  .strict();

/** What the constructor accepts (defaults optional). */
export type EmbeddedBusOptions = z.input<typeof embeddedBusOptionsSchema>;
/** Options with defaults filled in. */
export type ResolvedEmbeddedBusOptions = z.output<typeof embeddedBusOptionsSchema>;

/** Validates options; throws one message listing every problem. */
export function parseEmbeddedBusOptions(options: EmbeddedBusOptions): ResolvedEmbeddedBusOptions {
  const result = embeddedBusOptionsSchema.safeParse(options);
  if (!result.success) throw new Error(`invalid embedded bus options: ${describeIssues('options', result.error.issues)}`);
  return result.data;
}
