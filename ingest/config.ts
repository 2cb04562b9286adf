/** Options of the ingest pipeline. */
import { RECORD_NAMES, type RecordName } from '../schema/records.js';

export interface IngestOptions {
  /** Consumer group; every ingest instance of a deployment shares it. @default "isoscope-ingest" */
  group?: string;
  /** Record types (= topics) to consume. @default all five */
  topics?: RecordName[];
  /** Topic that receives undecodable or invalid messages with the reason. @default "dead-letters" */
  deadLetterTopic?: string;
}

export const DEFAULT_TOPICS: RecordName[] = RECORD_NAMES;
export const DEFAULT_DEAD_LETTER_TOPIC = 'dead-letters';
