/**
 * BusConsumer on the embedded bus. One partition per topic means one active consumer per group:
 * it reads each subscribed topic from the group's committed offset, hands batches of up to
 * `batchMaxMessages` to the handler, and commits a batch's offsets (atomically, to disk) only
 * after the handler resolved. It sleeps until a subscribed log reports a durable append.
 */
import type { BatchHandler, BusConsumer, ConsumerOptions, DeliveredBatch, PartitionLag } from '../bus.js';
import type { TopicLog } from './log.js';
import type { OffsetStore } from './offsets.js';
import { LogReader } from './reader.js';

/** What a consumer needs from its bus. */
export interface ConsumerHost {
  readonly dir: string;
  readonly offsets: OffsetStore;
  /** Starts the bus if needed. */
  ready(): Promise<void>;
  /** The log of an existing topic; throws when the topic does not exist. */
  topicLog(topic: string): TopicLog;
  /** Makes `owner` the group's one active consumer; throws when another one is. */
  claimGroup(group: string, owner: object): void;
  releaseGroup(group: string, owner: object): void;
}

export class EmbeddedConsumer implements BusConsumer {
  private readers = new Map<string, LogReader>();
  private committed = new Map<string, number>();
  private running = false;
  private finished = false;
  private abandoned = false;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private readonly stoppedPromise: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };

  constructor(private readonly host: ConsumerHost, private readonly options: ConsumerOptions, private readonly batchMaxMessages: number) {
    this.stoppedPromise = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.stoppedPromise.catch(() => undefined); // observed through stopped()
  }

  async start(): Promise<void> {
    await this.host.ready();
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.running || this.finished) throw new Error(`the embedded consumer of group ${this.options.group} was already run; create a new consumer to run again`);
    await this.host.ready();
    if (this.options.topics.length === 0) throw new Error(`the embedded consumer of group ${this.options.group} has no topics; expected at least one`);
    const logs = [...new Set(this.options.topics)].map((t) => this.host.topicLog(t));
    this.host.claimGroup(this.options.group, this);
    try {
      const committed = await this.host.offsets.load(this.options.group);
      for (const log of logs) {
        const from = committed.get(log.topic) ?? ((this.options.fromBeginning ?? true) ? log.startOffset : log.endOffset);
        this.readers.set(log.topic, new LogReader(log, from));
        this.committed.set(log.topic, from);
      }
    } catch (err) {
      this.host.releaseGroup(this.options.group, this);
      throw err;
    }
    this.running = true;
    this.loopDone = this.loop(handler, logs);
  }

  async lag(): Promise<number> {
    return (await this.partitionLag()).reduce((sum, p) => sum + p.lag, 0);
  }

  /** The embedded log has one partition (0) per topic. */
  async partitionLag(): Promise<PartitionLag[]> {
    await this.host.ready();
    const committed = this.running ? this.committed : await this.host.offsets.load(this.options.group);
    return this.options.topics.map((topic) => {
      const log = this.host.topicLog(topic);
      const from = committed.get(topic) ?? ((this.options.fromBeginning ?? true) ? log.startOffset : log.endOffset);
      return { topic, partition: 0, lag: Math.max(0, log.endOffset - from) };
    });
  }

  stopped(): Promise<void> {
    return this.stoppedPromise;
  }

  /** Stops fetching and waits up to `deadlineMs` for the batch in the handler to finish and commit. */
  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.running = false;
    this.wake?.();
    if (this.finished) return;
    if (this.loopDone) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), deadlineMs)));
      const outcome = await Promise.race([this.loopDone.then(() => 'done' as const), late]);
      clearTimeout(timer);
      // A handler still running past the deadline: its batch is not committed and is redelivered.
      if (outcome === 'late') this.finish();
    } else this.finish();
  }

  private async loop(handler: BatchHandler, logs: TopicLog[]): Promise<void> {
    let failure: unknown = null;
    try {
      let first = 0;
      while (this.running) {
        let delivered = false;
        for (let i = 0; i < logs.length && this.running; i++) {
          const log = logs[(first + i) % logs.length]!;
          const records = await this.readers.get(log.topic)!.read(this.batchMaxMessages);
          if (records.length === 0 || !this.running) continue;
          const batch: DeliveredBatch = {
            topic: log.topic,
            partition: 0,
            messages: records.map((r) => ({ topic: log.topic, partition: 0, offset: String(r.offset), timestampMs: r.timestampMs, key: r.key, headers: r.headers, value: r.value })),
          };
          await handler(batch);
          if (this.abandoned) return;
          const next = records[records.length - 1]!.offset + 1;
          await this.host.offsets.commit(this.options.group, new Map([[log.topic, next]]));
          this.committed.set(log.topic, next);
          delivered = true;
        }
        first = (first + 1) % logs.length;
        if (!delivered && this.running) await this.waitForAppend(logs);
      }
    } catch (err) {
      failure = err;
    } finally {
      this.running = false;
      this.finish(failure);
    }
  }

  /** Sleeps until a subscribed log has records past this consumer's position, or shutdown. */
  private waitForAppend(logs: TopicLog[]): Promise<void> {
    if ([...this.readers.values()].some((r) => r.behind)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        for (const log of logs) log.off('append', done);
        this.wake = null;
        resolve();
      };
      for (const log of logs) log.on('append', done);
      this.wake = done;
    });
  }

  private finish(failure: unknown = null): void {
    if (this.finished) return;
    this.finished = true;
    this.abandoned = true;
    this.host.releaseGroup(this.options.group, this);
    for (const r of this.readers.values()) void r.close();
    if (failure) this.settle.reject(failure);
    else this.settle.resolve();
  }
}
