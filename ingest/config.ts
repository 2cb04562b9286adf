/** Options of the ingest pipeline. */
import { RECORD_NAMES, type RecordName } from '../schema/records.js';

export interface IngestOptions {
  /** Consumer group; every ingest instance of a deployment shares it. @default "isoscope-ingest" */
  group?: string;
  /** Record types (= topics) to consume. @default all five */
  topics?: RecordName[];
  /** Topic that receives undecodable or invalid messages with the reason. @default "dead-letters" */
  deadLetterTopic?: string;
  /**
   * How long a samples batch is held for late `runs`/`partitions` records: its write (and so its
   * commit) waits until min(newest sample ts, newest bus timestamp) + watermarkMs has passed and the
   * control feed has caught up since. @default 3000
   */
  watermarkMs?: number;
  /**
   * Tag samples with run and partition (needs a control feed, see control-feed.ts). @default true
   * when `samples` is among the topics
   */
  tagging?: boolean;
  /**
   * Where a group without committed offsets starts: the beginning of the topics, or their end (a
   * test watching only what it produces, on topics shared with other work). @default true
   */
  fromBeginning?: boolean;
  /**
   * Topic partitions whose batches are decoded and written at once (Kafka); a samples batch
   * sleeping for its watermark does not count (ingest/work-slots.ts). A collector's batches stay
   * on one partition, so their order and sequence checks are unaffected. Config
   * `ingest.partitionsInFlight` for `isoscope ingest`. @default DEFAULT_PARTITIONS_IN_FLIGHT
   */
  partitionsInFlight?: number;
  /** `host:port` to serve Prometheus metrics on (`/metrics`); none when absent. @example "127.0.0.1:9464" */
  metricsListen?: string;
}

export const DEFAULT_TOPICS: RecordName[] = RECORD_NAMES;
export const DEFAULT_DEAD_LETTER_TOPIC = 'dead-letters';
export const DEFAULT_WATERMARK_MS = 3000;
/**
 * Two: the drain bench moved from 20 % of QuestDB's ceiling with one to 48 % with two and 42 % with
 * three, at the same CPU per sample; more only adds memory (one fetch per partition held). The fault
 * tests pass with it (docs/DECISIONS.md).
 */
export const DEFAULT_PARTITIONS_IN_FLIGHT = 2;
