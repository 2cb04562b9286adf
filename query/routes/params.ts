/** Query-parameter schemas of the read endpoints, shared by the routes and the OpenAPI document. */
import { z } from 'zod';
import { bool, intParam } from '../http.js';
import { name } from '../sql/literals.js';
import { AGGREGATES, DIMENSIONS } from '../sql/series-sql.js';
import { durationParam, timeParam } from '../time.js';

export const runsQuery = z
  .object({
    experiment: name('experiment name').optional().describe('Only runs of this experiment.'),
    workload: name('workload name').optional().describe('Only runs of this workload.'),
    stack: name('stack name').optional().describe('Only runs on this isolation stack.'),
    node_count: intParam(1, 1_000_000).optional().describe('Only runs on this many nodes.'),
    background: bool.optional().describe('true: runs with background workloads; false: without.'),
    from: timeParam.optional().describe('Runs that started at or after this time (ISO-8601 or epoch ms).'),
    to: timeParam.optional().describe('Runs that started before this time (ISO-8601 or epoch ms).'),
    spec_hash: z.string().regex(/^[0-9a-f]{4,64}$/, 'expected a spec hash (or a prefix of at least 4 hex digits)').optional().describe('Only runs of this experiment version (`config.spec_hash`, a prefix is enough).'),
  })
  .strict();

export const seriesQuery = z
  .object({
    run: z.array(name('run id')).min(1, 'expected at least one run id').max(50).describe('Run ids (repeat or comma-separate).'),
    metric: name('metric name').describe('Metric name, e.g. cpu.user.'),
    step: durationParam.optional().describe('Bucket width (500ms, 1s, 1m …); default: automatic, about `points` buckets.'),
    points: intParam(1, 10_000).default(200).describe('Buckets aimed at when step is automatic.'),
    by: z.array(z.enum(DIMENSIONS)).default([]).describe('Split per node, cpu and/or partition; default: aggregated over them.'),
    agg: z.enum(AGGREGATES).default('avg').describe('avg, sum, min, max, count, or rate (sum per second, for counters sampled as deltas).'),
    node: z.array(name('node name')).optional().describe('Only these nodes.'),
    cpu: intParam(-1, 65_535).optional().describe('Only this CPU (-1: node-wide values).'),
    from: durationParam.optional().describe('Window start in t_rel (since run start), e.g. 30s.'),
    to: durationParam.optional().describe('Window end in t_rel, exclusive.'),
    events: intParam(0, 100_000).default(1000).describe('Most events and partition actions returned.'),
  })
  .strict();

const compareCommon = {
  experiment: name('experiment name').describe('Experiment whose runs are compared.'),
  figure: name('figure name').optional().describe('Figure of merit from the runs\' config.figures (e.g. hpl) instead of their result.'),
  spec_hash: name('spec hash').optional().describe('Experiment version (config.spec_hash); default: the version of the latest run.'),
  better: z.enum(['higher', 'lower']).optional().describe('Whether a larger result is better; default from the unit (time units: lower).'),
  top: intParam(1, 1000).default(10).describe('Metrics returned per scope (workload partition, each background partition, node-wide), most moved first.'),
  level: z.string().regex(/^0\.\d+$/, 'expected a confidence level such as 0.95').transform(Number).default(0.95),
};

export const compareQuery = z
  .object({
    ...compareCommon,
    workload: name('workload name').optional(),
    stack: name('stack name').optional(),
    node_count: intParam(1, 1_000_000).optional(),
  })
  .strict();

export const compareCellsQuery = z.object(compareCommon).strict();
