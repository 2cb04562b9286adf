/** `runs`: lifecycle of one experiment run (one cell of the matrix, one repetition). */
import { defineRecord } from '../define.js';
import { boolean, double, int, json, nullable, oneOf, string, symbol, timestamp, withDefault } from '../columns.js';

export const RUN_PHASES = ['start', 'end', 'fail', 'abort'] as const;

export const runs = defineRecord({
  name: 'runs',
  doc: 'An experiment run started, ended, failed or was aborted; `end` carries the result.',
  columns: {
    ts: timestamp('When the phase was reached.'),
    run: symbol('Run id, unique across experiments.'),
    experiment: symbol('Experiment name.'),
    workload: symbol('Workload catalog entry, e.g. `hpcc`.'),
    phase: oneOf('symbol', 'Lifecycle phase.', RUN_PHASES),
    nodes: string('Nodes of the run, comma-separated.'),
    node_count: int('Number of nodes.'),
    stack: symbol('Isolation stack, e.g. `linux`, `kitten-pisces`, `palacios-vm`.'),
    background: boolean('Whether interference (background) workloads ran alongside.'),
    repetition: int('Repetition number within its configuration, from 1.'),
    config: withDefault(json('The rest of the run configuration and provenance (JSON object).'), {}),
    result: nullable(double('Figure of merit, on `end`.')),
    unit: nullable(symbol('Unit of the result, e.g. `GFLOP/s`.')),
    message: nullable(string('Reason, for `fail` and `abort`.')),
  },
  dedupKeys: ['ts', 'run', 'phase'],
  partitionBy: 'MONTH',
});
