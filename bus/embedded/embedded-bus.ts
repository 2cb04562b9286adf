/**
 * The embedded implementation of Bus: a durable local log in one directory, for the one-process
 * mode. Layout under `dir`:
 *
 *   LOCK                          pid of the process that has the directory open
 *   topics/<topic>/0/<base>.log   the topic's single partition, as segment files (segment.ts)
 *   groups/<group>.json           committed offsets of a consumer group (offsets.ts)
 *
 * Same guarantees as Kafka: `send` resolves once the messages are fdatasync'ed; a group's offsets
 * advance only after its handler resolved, so a crash (even SIGKILL) re-delivers, never loses.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { componentLogger } from '../../core/logger.js';
import type { Bus, BusConsumer, BusProducer, ConsumerOptions } from '../bus.js';
import { parseEmbeddedBusOptions, type ResolvedEmbeddedBusOptions } from './config.js';
import { EmbeddedConsumer, type ConsumerHost } from './consumer.js';
import { fsyncDir } from './fs-util.js';
import { acquireDirLock } from './lock.js';
import { TopicLog } from './log.js';
import { OffsetStore } from './offsets.js';
import { EmbeddedProducer } from './producer.js';

const TOPIC_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,249}$/;

export class EmbeddedBus implements Bus, ConsumerHost {
  readonly kind = 'embedded' as const;
  /** Absolute path of the bus directory. */
  readonly dir: string;
  readonly offsets: OffsetStore;
  private readonly options: ResolvedEmbeddedBusOptions;
  private readonly log = componentLogger('bus.embedded');
  private readonly logs = new Map<string, TopicLog>();
  private readonly opening = new Map<string, Promise<TopicLog>>();
  private readonly groups = new Map<string, object>();
  private readonly owned: (EmbeddedProducer | EmbeddedConsumer)[] = [];
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private releaseLock: (() => Promise<void>) | null = null;

  /** @example new EmbeddedBus({ dir: './data/bus' }) */
  constructor(options: { dir: string; batchMaxMessages?: number; segmentBytes?: number }) {
    this.options = parseEmbeddedBusOptions(options);
    this.dir = resolve(this.options.dir);
    this.offsets = new OffsetStore(join(this.dir, 'groups'));
  }

  /** Takes the directory lock and recovers every topic log. Idempotent. */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error(`the embedded bus in ${this.dir} is shut down; create a new EmbeddedBus to open it again`));
    this.starting ??= this.open().catch((err: unknown) => {
      this.starting = null;
      throw err;
    });
    return this.starting;
  }

  /** Starts the bus if needed; refuses once it is shut down. */
  ready(): Promise<void> {
    return this.start();
  }

  async ensureTopics(topics: string[]): Promise<void> {
    await this.ready();
    for (const topic of topics) {
      if (this.logs.has(topic)) continue;
      if (!TOPIC_NAME.test(topic)) throw new Error(`invalid topic name ${JSON.stringify(topic)}: expected 1 to 249 characters of A-Z a-z 0-9 . _ -`);
      let pending = this.opening.get(topic);
      if (!pending) {
        pending = this.openTopic(topic, true);
        this.opening.set(topic, pending);
      }
      try {
        await pending;
      } finally {
        this.opening.delete(topic);
      }
    }
  }

  producer(): BusProducer {
    const p = new EmbeddedProducer(this);
    this.owned.push(p);
    return p;
  }

  consumer(options: ConsumerOptions): BusConsumer {
    const c = new EmbeddedConsumer(this, options, this.options.batchMaxMessages);
    this.owned.push(c);
    return c;
  }

  topicLog(topic: string): TopicLog {
    const log = this.logs.get(topic);
    if (!log) throw new Error(`topic ${topic} does not exist on the embedded bus in ${this.dir}; create it with ensureTopics([${JSON.stringify(topic)}]) first`);
    return log;
  }

  claimGroup(group: string, owner: object): void {
    const current = this.groups.get(group);
    if (current && current !== owner) {
      throw new Error(`consumer group ${group} already has an active consumer on the embedded bus in ${this.dir}: each topic has one partition, so a group has one active consumer; shut the other one down first`);
    }
    this.groups.set(group, owner);
  }

  releaseGroup(group: string, owner: object): void {
    if (this.groups.get(group) === owner) this.groups.delete(group);
  }

  /** Stops consumers and producers, waits for queued appends, closes the logs, releases the lock. Idempotent. */
  shutdown(deadlineMs = 10_000): Promise<void> {
    this.stopping ??= this.close(deadlineMs);
    return this.stopping;
  }

  private async open(): Promise<void> {
    await mkdir(join(this.dir, 'topics'), { recursive: true });
    this.releaseLock = await acquireDirLock(this.dir);
    try {
      await this.offsets.init();
      const entries = await readdir(join(this.dir, 'topics'), { withFileTypes: true });
      for (const e of entries) if (e.isDirectory() && TOPIC_NAME.test(e.name)) await this.openTopic(e.name, false);
      this.log.debug({ dir: this.dir, topics: [...this.logs.keys()] }, `The embedded bus in ${this.dir} is open with ${this.logs.size} topics.`);
    } catch (err) {
      for (const log of this.logs.values()) await log.close();
      this.logs.clear();
      await this.releaseLock();
      this.releaseLock = null;
      throw err;
    }
  }

  private async openTopic(topic: string, create: boolean): Promise<TopicLog> {
    const topicDir = join(this.dir, 'topics', topic);
    if (create) {
      await mkdir(join(topicDir, '0'), { recursive: true });
      await fsyncDir(topicDir);
      await fsyncDir(join(this.dir, 'topics'));
    }
    const log = await TopicLog.open(topic, join(topicDir, '0'), this.options.segmentBytes, this.log);
    this.logs.set(topic, log);
    return log;
  }

  private async close(deadlineMs: number): Promise<void> {
    if (!this.starting) return;
    await this.starting.catch(() => undefined);
    await Promise.all(this.owned.splice(0).map((c) => c.shutdown(deadlineMs).catch(() => undefined)));
    for (const log of this.logs.values()) await log.close();
    this.logs.clear();
    await this.releaseLock?.();
    this.releaseLock = null;
  }
}
