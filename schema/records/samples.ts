/** `samples`: one numeric observation. Collectors send many per message, one message per batch. */
import { defineRecord } from '../define.js';
import { double, int, long, nullable, symbol, timestamp, withDefault } from '../columns.js';

export const samples = defineRecord({
  name: 'samples',
  doc: 'One numeric observation of a metric on a node (and CPU, cgroup …), usually the delta over the collector interval.',
  columns: {
    ts: timestamp('When the observation was taken (end of its interval), CLOCK_REALTIME.'),
    node: symbol('Host name of the node the collector runs on.'),
    collector: symbol('Collector instance that produced the batch, e.g. `node1/procfs`.'),
    seq: long("The collector's batch sequence number: consecutive per collector, so gaps and replays are exact."),
    idx: int('Position of the sample within its batch; with collector and seq it identifies the sample.'),
    source: symbol('What measured it: perf, ebpf, procfs, palacios, …'),
    metric: symbol('Metric name, e.g. `cpu.user`, `context-switches`.'),
    value: double('The value (a delta over the interval for counters).'),
    cpu: withDefault(int('Logical CPU the value belongs to, or -1 for node-wide values.'), -1),
    partition: nullable(symbol('Partition (enclave) that owned the node/CPU at ts; filled in by ingest.')),
    run: nullable(symbol('Run that owned the node at ts; filled in by ingest.')),
    scale: withDefault(double('Multiplexing ratio time_running/time_enabled; 1 where nothing was estimated.'), 1),
    cgroup: nullable(symbol('Label: cgroup path.')),
    comm: nullable(symbol('Label: task command name.')),
    irq: nullable(symbol('Label: interrupt name or number.')),
    device: nullable(symbol('Label: device (block device, NIC, NUMA node …).')),
    le: nullable(symbol('Label: histogram bucket upper bound (`+Inf` for the last).')),
  },
  dedupKeys: ['ts', 'collector', 'seq', 'idx'],
  partitionBy: 'HOUR',
});
