/**
 * Turns what the orchestrator does into records on the bus: `runs` and `partitions` (sent at once,
 * durable before the orchestrator moves on) and workload output lines as `events` of source
 * `orchestrator` (batched, flushed every 500 ms and on demand), numbered 0, 1, 2 … per process.
 */
import { hostname } from 'node:os';
import type { BusProducer } from '../bus/bus.js';
import { nowNs } from '../core/clock.js';
import { encode, validate } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';
import type { PartitionState } from './drivers/driver.js';

export interface OutputLine {
  node: string;
  run: string;
  partition: string | null;
  stream: 'stdout' | 'stderr';
  line: string;
  workload: string;
  role: 'workload' | 'background';
}

export class RecordEmitter {
  /** One producer identity per orchestrator process, so its batch sequence starts at 0 and has no gaps. */
  readonly collector = `orchestrator@${hostname()}.${process.pid}.${Date.now().toString(36)}`;
  private pending: RecordInput<'events'>[] = [];
  private seq = -1;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  /**
   * @param identity the node name records carry for an experiment node: the name its collector
   *   stamps on samples (a resident collector may report another name), so ingest matches them.
   */
  constructor(private readonly producer: BusProducer, private readonly identity: (node: string) => string = (n) => n) {}

  async run(record: RecordInput<'runs'>): Promise<void> {
    const r = { ...record, nodes: record.nodes.split(',').filter(Boolean).map(this.identity).join(',') };
    await this.producer.send('runs', [{ key: r.run, value: encode('runs', validate('runs', [r])) }]);
  }

  /** One orchestrator event about a node (e.g. `collector_restart`); resolves once it is durable on the bus. */
  notice(n: { node: string; kind: string; level: 'info' | 'warning' | 'error'; message: string; fields: Record<string, unknown>; run?: string | null }): Promise<void> {
    this.pending.push({ ts: nowNs(), node: this.identity(n.node), collector: this.collector, seq: 0, idx: 0, source: 'orchestrator', level: n.level, kind: n.kind, partition: null, run: n.run ?? null, message: n.message, fields: n.fields, raw: null });
    return this.flush();
  }

  async partition(state: PartitionState, action: 'create' | 'destroy' | 'fail', run: string | null, message: string | null = null): Promise<void> {
    const record: RecordInput<'partitions'> = {
      ts: nowNs(),
      partition: state.name,
      node: this.identity(state.node),
      driver: state.driver,
      action,
      cpus: action === 'destroy' ? '' : state.cpus,
      mem_mb: action === 'destroy' ? 0 : state.memMb,
      numa: state.numa,
      devices: state.devices.length ? state.devices.join(',') : null,
      run,
      message,
    };
    await this.producer.send('partitions', [{ key: this.identity(state.node), value: encode('partitions', validate('partitions', [record])) }]);
  }

  /** Queues one output line as an event. */
  output(o: OutputLine): void {
    this.pending.push({
      ts: nowNs(),
      node: this.identity(o.node),
      collector: this.collector,
      seq: 0,
      idx: 0,
      source: 'orchestrator',
      level: o.stream === 'stderr' ? 'warning' : 'info',
      kind: 'app_output',
      partition: o.partition,
      run: o.run,
      message: o.line.length > 2000 ? `${o.line.slice(0, 1997)}...` : o.line,
      fields: { stream: o.stream, workload: o.workload, role: o.role },
      raw: o.line,
    });
    if (this.pending.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 500);
  }

  /** Sends queued events; resolves when everything queued so far is durable on the bus. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (!batch.length) return;
      const seq = this.nextSeq();
      const records = batch.map((r, idx) => ({ ...r, seq, idx }));
      await this.producer.send('events', [{ key: records[0]!.node, value: encode('events', validate('events', records)) }]);
    });
    return this.flushing;
  }

  private nextSeq(): number {
    return ++this.seq;
  }
}
