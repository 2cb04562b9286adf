/**
 * The configuration of every isoscope command: one optional YAML file, each field overridable by an
 * environment variable (see config/env.ts). Unknown keys are errors, so a typo never silently
 * falls back to a default.
 */
import { hostname } from 'node:os';
import { z } from 'zod';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9000');

export const configSchema = z
  .object({
    /** Name of this node in every record it produces. @default the host name */
    node: z.string().min(1).default(hostname()),
    /** Where embedded-mode data lives (bus log, DuckDB file, collector state). @default ./data */
    dataDir: z.string().min(1).default('./data'),
    /** Where `isoscope services` keeps its state file and service data. @default ./.isoscope */
    stateDir: z.string().min(1).default('./.isoscope'),
    /** Bus: `auto` = kafka when Kafka is configured or `services` are running, else embedded. @default auto */
    bus: z.enum(['auto', 'embedded', 'kafka']).default('auto'),
    /** Store: `auto` = questdb when QuestDB is configured or `services` are running, else duckdb. @default auto */
    store: z.enum(['auto', 'duckdb', 'questdb']).default('auto'),
    kafka: z
      .object({
        /** Bootstrap brokers. @default from .isoscope/services.json, else 127.0.0.1:9092 */
        brokers: z.array(hostPort).min(1).optional(),
        clientId: z.string().min(1).default('isoscope'),
        /** Partitions of topics isoscope creates; ingest instances scale up to this. @default 6 */
        partitions: z.number().int().min(1).max(1000).default(6),
      })
      .strict()
      .default({ clientId: 'isoscope', partitions: 6 }),
    questdb: z
      .object({
        /** HTTP endpoint (ILP writes, REST). @default from services.json, else 127.0.0.1:9000 */
        http: hostPort.optional(),
        /** PostgreSQL wire endpoint (queries). @default from services.json, else 127.0.0.1:8812 */
        pg: hostPort.optional(),
        user: z.string().default('admin'),
        password: z.string().default('quest'),
        /** Read-only PG user for user SQL. @default from services.json, else `user` */
        readonlyUser: z.string().optional(),
        readonlyPassword: z.string().optional(),
      })
      .strict()
      .default({ user: 'admin', password: 'quest' }),
    collector: z
      .object({
        /** Sampling interval, milliseconds. @default 1000 */
        intervalMs: z.number().int().min(1).max(3_600_000).default(1000),
        /** Sources to read. @default ["procfs"] */
        sources: z.array(z.enum(['procfs'])).min(1).default(['procfs']),
      })
      .strict()
      .default({ intervalMs: 1000, sources: ['procfs'] }),
    ingest: z
      .object({
        /** Kafka consumer group shared by all ingest instances. @default isoscope-ingest */
        group: z.string().min(1).default('isoscope-ingest'),
        /** With --exit-when-idle: how long the lag must stay at zero before exiting, ms. @default 2000 */
        idleMs: z.number().int().min(0).default(2000),
      })
      .strict()
      .default({ group: 'isoscope-ingest', idleMs: 2000 }),
    query: z
      .object({
        /** Address of the query HTTP service. @default 127.0.0.1:7410 */
        listen: hostPort.default('127.0.0.1:7410'),
        /** Bearer token required for non-loopback clients and mutating endpoints. */
        token: z.string().min(16, 'expected a token of at least 16 characters').optional(),
      })
      .strict()
      .default({ listen: '127.0.0.1:7410' }),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
