/**
 * The rules file: what to watch (metric and scope), how to judge it (a detector), how long a breach
 * must last (`for`), and where to send the alert (receivers). zod strict everywhere, so a typo in a
 * key is an error naming its path instead of a silently ignored setting.
 */
import { z } from 'zod';

/** Sample label columns a scope may filter on and group by. */
export const LABEL_COLUMNS = ['cgroup', 'comm', 'irq', 'device', 'le'] as const;
/** Dimensions a series can be split by. */
export const SERIES_DIMENSIONS = ['node', 'cpu', 'partition', 'run', 'collector', ...LABEL_COLUMNS] as const;
export type SeriesDimension = (typeof SERIES_DIMENSIONS)[number];

/**
 * A duration: `250ms`, `2s`, `1.5m`, `1h`, or a number of milliseconds.
 * @example parseDuration('1.5s') === 1500
 */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']);
}

const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 2s or 1m (or a number of ms), got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const oneOrMany = <T extends z.ZodType>(s: T) => z.union([s, z.array(s).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

const regex = z.string().transform((v, ctx) => {
  try {
    return new RegExp(`^(?:${v})$`);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `expected a regular expression: ${(err as Error).message}` });
    return z.NEVER;
  }
});

export const scopeSchema = z
  .object({
    node: oneOrMany(z.string().min(1)).optional().describe('Only these nodes.'),
    cpu: oneOrMany(z.number().int().min(-1)).optional().describe('Only these CPUs (-1: node-wide values).'),
    partition: oneOrMany(z.string().min(1)).optional().describe('Only samples of these partitions.'),
    run: oneOrMany(z.string().min(1)).optional().describe('Only samples of these runs.'),
    source: oneOrMany(z.string().min(1)).optional().describe('Only samples of these sources (perf, procfs, …).'),
    labels: z.partialRecord(z.enum(LABEL_COLUMNS), regex).optional().describe('Label column → regular expression the whole value must match.'),
    inRun: z.boolean().default(true).describe('Only samples that belong to a run (the evaluator knows the runs from the `runs` topic).'),
    by: z.array(z.enum(SERIES_DIMENSIONS)).default(['node', 'cpu', 'partition', 'run', ...LABEL_COLUMNS]).describe('Dimensions that make a series; samples equal on them at one ts are aggregated.'),
    aggregate: z.enum(['sum', 'avg', 'min', 'max', 'count']).default('sum').describe('How the samples of one series at one ts combine.'),
  })
  .strict();

const direction = z.enum(['above', 'below', 'both']);

export const thresholdSchema = z
  .object({
    kind: z.literal('threshold'),
    op: z.enum(['>', '>=', '<', '<=']),
    value: z.number(),
  })
  .strict();

export const baselineSchema = z
  .object({
    kind: z.literal('baseline'),
    method: z.enum(['zscore', 'quantile']).default('zscore'),
    /** zscore: breach when |x − mean| / std exceeds it. */
    z: z.number().positive().default(3),
    /** quantile: breach above the q-quantile (above) or below the (1−q)-quantile (below). */
    quantile: z.number().gt(0.5).lt(1).default(0.99),
    direction: direction.default('both'),
    /** Fewer baseline values than this: the detector stays silent (and says so in the log). */
    minSamples: z.number().int().min(2).default(20),
  })
  .strict();

export const changePointSchema = z
  .object({
    kind: z.literal('changepoint'),
    method: z.literal('cusum').default('cusum'),
    /** Values that estimate the in-control mean and standard deviation before detection starts. */
    warmup: z.number().int().min(3).default(10),
    /** Slack per value, in standard deviations (half the shift to detect). */
    k: z.number().min(0).default(0.5),
    /** Decision threshold of the cumulative sum, in standard deviations. */
    h: z.number().positive().default(5),
    direction: direction.default('both'),
    /** Floor of the standard deviation, relative to |mean| (a near-constant warm-up must not make every wiggle a change). */
    minRelStd: z.number().min(0).default(0.01),
  })
  .strict();

export const detectorSchema = z.discriminatedUnion('kind', [thresholdSchema, baselineSchema, changePointSchema]);

const labelMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a label name like team or experiment_group'), z.string());

export const ruleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'expected a rule name of letters, digits and _.:-'),
    metric: z.string().min(1),
    scope: scopeSchema.default({ inRun: true, by: ['node', 'cpu', 'partition', 'run', ...LABEL_COLUMNS], aggregate: 'sum' }),
    detector: detectorSchema,
    for: durationSchema.default(0),
    severity: z.string().min(1).default('warning'),
    labels: labelMap.default({}),
    summary: z.string().optional(),
    receivers: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const receiverSchema = z
  .object({
    name: z.string().min(1),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    /** HMAC key of X-Isoscope-Signature, inline. Prefer secretEnv. */
    secret: z.string().min(16, 'expected a secret of at least 16 characters').optional(),
    /** Environment variable holding the HMAC key. */
    secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name').optional(),
    /** Deliver to private, loopback and link-local addresses too. */
    allowPrivate: z.boolean().default(false),
    /** Attempts per delivery before it is recorded as failed. */
    maxAttempts: z.number().int().min(1).max(100).default(8),
    /** First retry delay (full-jitter exponential backoff), then up to maxBackoff. */
    initialBackoff: durationSchema.default(500),
    maxBackoff: durationSchema.default(60_000),
    timeout: durationSchema.default(10_000),
  })
  .strict();

export const rulesFileSchema = z
  .object({
    receivers: z.array(receiverSchema).default([]),
    rules: z.array(ruleSchema).min(1, 'expected at least one rule'),
  })
  .strict();

export type Scope = z.output<typeof scopeSchema>;
export type DetectorConfig = z.output<typeof detectorSchema>;
export type ThresholdConfig = z.output<typeof thresholdSchema>;
export type BaselineConfig = z.output<typeof baselineSchema>;
export type ChangePointConfig = z.output<typeof changePointSchema>;
export type Rule = z.output<typeof ruleSchema>;
export type ReceiverConfig = z.output<typeof receiverSchema>;
export type RulesFile = z.output<typeof rulesFileSchema>;
