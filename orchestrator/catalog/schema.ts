/**
 * A workload catalog entry (YAML, zod strict): the command as an argv template, typed parameters,
 * input files written into the run's own directory, how to launch on N nodes, and how to read the
 * figure of merit. Templates substitute `{{name}}` inside single argv words, never through a shell.
 * @example see orchestrator/catalog/hpcc.yaml
 */
import { z } from 'zod';
import { PARSERS } from './parsers/registry.js';

const paramName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name of letters, digits and "_"');

export const parameterSchema = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean', 'enum']),
  description: z.string().optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  /** For `enum`. */
  values: z.array(z.string()).optional(),
  /** For `string`: a regular expression the whole value must match. */
  pattern: z.string().optional(),
});
export type ParameterDefinition = z.infer<typeof parameterSchema>;

export const catalogEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected an entry name'),
  /** Bumped when the command or parser changes (provenance: `catalog_version`). */
  version: z.number().int().min(1),
  description: z.string(),
  parameters: z.record(paramName, parameterSchema).default({}),
  /** argv; each word may hold `{{parameter}}` placeholders (also `{{nodes}}`, `{{ranks}}`, `{{run_dir}}`). */
  command: z.array(z.string()).min(1, 'expected the command as a list of words'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  /** Files written into the run directory (the command's cwd) before it starts, e.g. hpccinf.txt. */
  files: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a plain file name'), z.string()).default({}),
  launch: z.strictObject({
    /** `each`: the command on every node of the run; `mpirun`: one mpirun over the nodes' host list. */
    mode: z.enum(['each', 'mpirun']).default('each'),
    ranksPerNode: z.number().int().min(1).default(1),
    /** Extra mpirun words (templated). */
    mpirunArgs: z.array(z.string()).default(['--bind-to', 'none']),
    /** `each` with several nodes: how node results combine. */
    aggregate: z.enum(['sum', 'mean', 'min', 'max']).default('sum'),
  }).default({ mode: 'each', ranksPerNode: 1, mpirunArgs: ['--bind-to', 'none'], aggregate: 'sum' }),
  result: z.strictObject({
    parser: z.enum(PARSERS),
    /** File in the run directory holding the output (default: the command's stdout). */
    file: z.string().optional(),
    /** Which figure (templated), for parsers with several: e.g. `stream-triad`. */
    metric: z.string().optional(),
    /** `regex` parser: first capture group is the value. */
    regex: z.string().optional(),
    unit: z.string().optional(),
  }).optional(),
  /** How to build the program from its public source, when no package has it (documentation). */
  build: z.string().optional(),
});
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
