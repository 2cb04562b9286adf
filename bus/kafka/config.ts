/** Options of the Kafka bus. */
export interface KafkaBusOptions {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  /** @default "isoscope" */
  clientId?: string;
  /** Partitions for topics this bus creates. @default 6 */
  partitions?: number;
  /** Compression of produced batches. @default "gzip" */
  compression?: 'none' | 'gzip';
  /** Most bytes fetched per partition per request. @default 4 MiB */
  maxBytesPerPartition?: number;
  /**
   * Consumer session timeout: a member silent this long loses its partitions to the others (a killed
   * ingest's partitions wait this long). Heartbeats go every tenth of it. @default 30000
   */
  sessionTimeoutMs?: number;
}
