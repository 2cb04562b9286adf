/**
 * The metric description of a BPF object, in ebpf_exporter's YAML form (`metrics: counters /
 * histograms`, each named after its map, the map key split into labels by size, each label decoded
 * by a chain of decoders), so configs users already have work here. Parsed with `yaml`, checked with
 * zod (unknown keys are errors).
 * @example
 * metrics:
 *   counters:
 *     - name: page_faults_total
 *       help: Page faults per cgroup
 *       labels:
 *         - { name: cgroup, size: 8, decoders: [{ name: uint }, { name: cgroup }] }
 */
import { parse } from 'yaml';
import { z } from 'zod';

/** Decoders isoscope implements (a subset of ebpf_exporter's). */
export const DECODER_NAMES = ['uint', 'hex', 'string', 'static_map', 'ksym', 'cgroup', 'majorminor', 'regexp'] as const;

const decoderSchema = z
  .object({
    name: z.enum(DECODER_NAMES),
    /** static_map: decoded value -> label value. */
    static_map: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
    /** static_map: keep values the map does not list (else `unknown:<value>`). @default false */
    allow_unknown: z.boolean().optional(),
    /** regexp: the label set is kept only when one of these matches. */
    regexps: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.name === 'static_map' && !d.static_map) ctx.addIssue({ code: 'custom', message: 'the static_map decoder needs a static_map' });
    if (d.name === 'regexp' && !d.regexps) ctx.addIssue({ code: 'custom', message: 'the regexp decoder needs regexps' });
    for (const r of d.regexps ?? []) {
      try {
        new RegExp(r);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `regexp ${r} is not valid: ${(err as Error).message}` });
      }
    }
  });

const labelSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'label names are identifiers'),
    /** Bytes of the map key this label takes, in order. */
    size: z.number().int().positive().max(256),
    decoders: z.array(decoderSchema).min(1),
  })
  .strict();

const metricName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'metric names are map names (identifiers)');

const counterSchema = z.object({ name: metricName, help: z.string().optional(), labels: z.array(labelSchema).default([]) }).strict();

const histogramSchema = z
  .object({
    name: metricName,
    help: z.string().optional(),
    bucket_type: z.enum(['exp2', 'linear', 'fixed']),
    bucket_min: z.number().int().nonnegative().optional(),
    bucket_max: z.number().int().nonnegative().optional(),
    bucket_keys: z.array(z.number()).min(1).optional(),
    /** Multiplies bucket bounds (e.g. 0.000001: microseconds to seconds). @default 1 */
    bucket_multiplier: z.number().positive().default(1),
    /** The last label is the bucket. */
    labels: z.array(labelSchema).min(1),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.bucket_type === 'fixed') {
      if (!h.bucket_keys) ctx.addIssue({ code: 'custom', message: `histogram ${h.name}: bucket_type fixed needs bucket_keys` });
    } else if (h.bucket_min === undefined || h.bucket_max === undefined || h.bucket_max <= h.bucket_min) {
      ctx.addIssue({ code: 'custom', message: `histogram ${h.name}: bucket_type ${h.bucket_type} needs bucket_min < bucket_max` });
    }
  });

export const metricsConfigSchema = z
  .object({
    metrics: z
      .object({ counters: z.array(counterSchema).default([]), histograms: z.array(histogramSchema).default([]) })
      .strict()
      .refine((m) => m.counters.length + m.histograms.length > 0, 'metrics lists no counters and no histograms'),
  })
  .strict();

export type MetricsConfig = z.output<typeof metricsConfigSchema>;
export type CounterConfig = z.output<typeof counterSchema>;
export type HistogramConfig = z.output<typeof histogramSchema>;
export type LabelConfig = z.output<typeof labelSchema>;
export type DecoderConfig = z.output<typeof decoderSchema>;

/**
 * Parses and checks one YAML metric description.
 * @param where the file it came from, for messages.
 * @throws Error naming the file and every problem.
 */
export function parseMetricsConfig(text: string, where: string): MetricsConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid YAML: ${(err as Error).message}`);
  }
  const r = metricsConfigSchema.safeParse(doc);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new Error(`${where} is not a valid ebpf_exporter metrics config: ${problems}`);
  }
  return r.data;
}

/** The upper bounds (`le`) of a histogram's buckets, paired with the bucket key they count, in order. */
export function bucketBounds(h: HistogramConfig): { key: number; le: number }[] {
  const keys = h.bucket_type === 'fixed' ? h.bucket_keys! : range(h.bucket_min!, h.bucket_max!);
  return keys.map((key) => ({ key, le: (h.bucket_type === 'exp2' ? 2 ** key : key) * h.bucket_multiplier }));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_v, i) => from + i);
}
