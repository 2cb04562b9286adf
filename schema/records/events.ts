/** `events`: one structured log or trace event (kernel logs, co-kernel consoles, orchestrator). */
import { defineRecord } from '../define.js';
import { int, json, long, nullable, oneOf, string, symbol, timestamp, withDefault } from '../columns.js';

export const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical'] as const;

export const events = defineRecord({
  name: 'events',
  doc: 'One structured event parsed from a log or trace, with the raw line it came from.',
  columns: {
    ts: timestamp('When the event happened (mapped to wall time when the source counts from boot).'),
    node: symbol('Host name of the node the event comes from.'),
    collector: symbol('Collector (or orchestrator) instance that produced the batch.'),
    seq: long("The producer's batch sequence number."),
    idx: int('Position of the event within its batch.'),
    source: symbol('kitten, palacios, pisces, hobbes, linux, orchestrator, collector, …'),
    level: oneOf('symbol', 'Severity.', LEVELS),
    kind: symbol('What happened, from a closed vocabulary: vm_create, core_add, exit_stats, error, …'),
    partition: nullable(symbol('Partition (enclave) concerned.')),
    run: nullable(symbol('Run concerned.')),
    vm: nullable(symbol('VM name.')),
    vcore: nullable(int('Virtual core of the VM.')),
    pcore: nullable(int('Host physical CPU.')),
    message: string('Human-readable summary.'),
    fields: withDefault(json('Further structured fields of the event (JSON object).'), {}),
    raw: nullable(string('The raw line as received.')),
  },
  dedupKeys: ['ts', 'collector', 'seq', 'idx'],
  partitionBy: 'DAY',
});
