/**
 * The configuration of every isoscope command: one optional YAML file, each field overridable by an
 * environment variable (see config/env.ts). Unknown keys are errors, so a typo never silently
 * falls back to a default. Each field's description feeds docs/CONFIG.md.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ebpfConfigSchema } from '../collectors/ebpf/config.js';
import { inventoryConfigSchema } from '../collectors/inventory/config.js';
import { logsConfigSchema } from '../collectors/logs/config.js';
import { perfConfigSchema } from '../collectors/perf/config.js';
import { procfsConfigSchema } from '../collectors/procfs/config.js';
import { housekeepingCpusSchema } from '../collectors/housekeeping.js';
import { DEFAULT_PARTITIONS_IN_FLIGHT } from '../ingest/config.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9000');

export const configSchema = z
  .object({
    node: z.string().min(1).default(hostname()).describe('Name of this node in every record it produces. Default: the host name.'),
    dataDir: z.string().min(1).default('./data').describe('Embedded-mode data: bus log, DuckDB file, collector state. Default: ./data'),
    stateDir: z.string().min(1).default('./.isoscope').describe('Where `isoscope services` and `isoscope up` keep their state files. Default: ./.isoscope'),
    bus: z.enum(['auto', 'embedded', 'kafka']).default('auto').describe('`auto`: kafka when Kafka is configured or `services` run, else embedded. Default: auto'),
    store: z.enum(['auto', 'duckdb', 'questdb']).default('auto').describe('`auto`: questdb when QuestDB is configured or `services` run, else duckdb. Default: auto'),
    kafka: z
      .object({
        brokers: z.array(hostPort).min(1).optional().describe('Bootstrap brokers. Default: from .isoscope/services.json, else 127.0.0.1:9092'),
        clientId: z.string().min(1).default('isoscope').describe('Kafka client id. Default: isoscope'),
        partitions: z.number().int().min(1).max(1000).default(6).describe('Partitions of the topics isoscope creates; ingest instances scale up to this. Default: 6'),
        compression: z.enum(['none', 'gzip']).default('gzip').describe('Compression of produced batches (JSON shrinks ~10×). Default: gzip'),
        sessionTimeoutMs: z
          .number()
          .int()
          .min(6000)
          .max(300_000)
          .default(30_000)
          .describe("How long a consumer (ingest instance) may go silent before its partitions go to the others; a killed instance's partitions wait this long. Default: 30000"),
      })
      .strict()
      .default({ clientId: 'isoscope', partitions: 6, compression: 'gzip', sessionTimeoutMs: 30_000 }),
    questdb: z
      .object({
        http: hostPort.optional().describe('HTTP endpoint (ILP writes). Default: from services.json, else 127.0.0.1:9000'),
        pg: hostPort.optional().describe('PostgreSQL wire endpoint (DDL, queries). Default: from services.json, else 127.0.0.1:8812'),
        user: z.string().default('admin').describe('User for writes and DDL. Default: admin'),
        password: z.string().default('quest').describe('Its password. Default: quest'),
        readonlyUser: z.string().optional().describe('Read-only PG user that runs user SQL. Default: from services.json, else `user`'),
        readonlyPassword: z.string().optional().describe('Its password.'),
        createTables: z
          .boolean()
          .default(true)
          .describe('Create the tables at start (as `user`). false: the tables must exist (ingest creates them) and only the read-only user is used, so the query service and the alerts evaluator need no admin password. Default: true'),
      })
      .strict()
      .default({ user: 'admin', password: 'quest', createTables: true }),
    collector: z
      .object({
        intervalMs: z.number().int().min(1).max(3_600_000).default(1000).describe('Sampling interval in milliseconds. Default: 1000'),
        http: z
          .object({
            url: z.url().describe('Base URL of the receiving isoscope up, e.g. http://hub:7410.'),
            token: z.string().min(16, 'expected a token of at least 16 characters').describe("The receiver's query.token."),
          })
          .strict()
          .optional()
          .describe('Where `--sink http` posts batches.'),
        spoolMaxBytes: z.number().int().min(1024 * 1024).default(1024 ** 3).describe('Bound of the disk spool in front of Kafka; only past it are the oldest batches dropped (and counted). Default: 1 GiB'),
        metricsListen: z.string().regex(/^([^\s:]+:\d{1,5}|off)$/, 'expected host:port, e.g. 127.0.0.1:9466, or off')
          .default('off')
          .describe('Where `isoscope collector` serves Prometheus metrics (`/metrics`: batches, drops, spool), or `off`. Default: off'),
        housekeepingCpus: housekeepingCpusSchema
          .optional()
          .describe('CPUs (a Linux cpu list, e.g. "1" or "0,2-3") that every thread of `isoscope collector` runs on, so its own work stays off the CPUs an experiment uses; it still measures every CPU. Checked at start against the CPUs online. Default: unset, any CPU'),
        sources: z
          .array(z.enum(['procfs', 'perf', 'ebpf', 'inventory', 'logs']))
          .min(1)
          .default(['procfs', 'inventory'])
          .describe('Sources to read: procfs, perf, ebpf (samples); inventory, logs (events). Default: procfs, inventory'),
        procfs: procfsConfigSchema.optional().describe('Options of the procfs source (collectors/procfs/README.md).'),
        perf: perfConfigSchema.optional().describe('Options of the perf source: events, scope (collectors/perf/README.md).'),
        ebpf: ebpfConfigSchema.optional().describe('Options of the ebpf source: programs (collectors/ebpf/README.md).'),
        inventory: inventoryConfigSchema.optional().describe('Options of the node inventory (collectors/inventory/README.md).'),
        logs: logsConfigSchema.optional().describe('Log streams to follow: files, /dev/kmsg, console commands (collectors/logs/README.md).'),
      })
      .strict()
      .default({ intervalMs: 1000, spoolMaxBytes: 1024 ** 3, metricsListen: 'off', sources: ['procfs', 'inventory'] }),
    ingest: z
      .object({
        group: z.string().min(1).default('isoscope-ingest').describe('Kafka consumer group shared by all ingest instances. Default: isoscope-ingest'),
        idleMs: z.number().int().min(0).default(2000).describe('With --exit-when-idle: how long the lag must stay zero before exiting, ms. Default: 2000'),
        watermarkMs: z.number().int().min(0).max(600_000).default(3000).describe('How long samples are held for late run/partition records before they are tagged and written, ms, counted per message from its newest sample\'s ts (their batch stays uncommitted until its last message is written). A sample becomes visible to queries about this long after its ts, plus the write. Default: 3000'),
        metricsListen: z.string().regex(/^([^\s:]+:\d{1,5}|off)$/, 'expected host:port, e.g. 127.0.0.1:9464, or off').default('127.0.0.1:9464').describe('Where `isoscope ingest` serves Prometheus metrics (`/metrics`), or `off`. Default: 127.0.0.1:9464'),
        partitionsInFlight: z.number().int().min(1).max(64).default(DEFAULT_PARTITIONS_IN_FLIGHT).describe(`Kafka topic partitions one ingest instance decodes and writes at once (each batch is still committed only after its own rows were acknowledged). With a watermark, set it to the partitions each instance reads, so no partition\'s batch waits while another\'s is held (freshness at watermark 3 s: p50 4.6–4.9 s with 1, 3.3 s with 6 on 6 partitions; bench/freshness). Default: ${DEFAULT_PARTITIONS_IN_FLIGHT}`),
      })
      .strict()
      .default({ group: 'isoscope-ingest', idleMs: 2000, watermarkMs: 3000, metricsListen: '127.0.0.1:9464', partitionsInFlight: DEFAULT_PARTITIONS_IN_FLIGHT }),
    query: z
      .object({
        listen: hostPort.default('127.0.0.1:7410').describe('Address of the query HTTP service. Default: 127.0.0.1:7410'),
        token: z.string().min(16, 'expected a token of at least 16 characters').optional().describe('Bearer token required from non-loopback clients and for mutating endpoints.'),
      })
      .strict()
      .default({ listen: '127.0.0.1:7410' }),
    alerts: z
      .object({
        rules: z.string().min(1).optional().describe('Rules file (alerts/README.md) for `isoscope alerts run`; with it, `isoscope up` evaluates the rules too.'),
        group: z.string().min(1).default('isoscope-alerts').describe('Consumer group of the alerts evaluator on `samples`. Default: isoscope-alerts'),
        outboxDir: z.string().min(1).optional().describe('Durable webhook outbox (pending and failed deliveries). Default: <dataDir>/alerts-outbox'),
        seriesBaseUrl: z.url().optional().describe('Base URL of the query API in alert links (`<base>/api/series?run=…`). Default: http://<query.listen>'),
        maxAgeMs: z.number().int().min(1000).default(60_000).describe('Samples older than this when the evaluator reads them are skipped (no alerts for old history), ms. Default: 60000'),
        metricsListen: z.string().regex(/^([^\s:]+:\d{1,5}|off)$/, 'expected host:port, e.g. 127.0.0.1:9465, or off')
          .default('127.0.0.1:9465')
          .describe('Where `isoscope alerts run` serves Prometheus metrics (`/metrics`: webhook deliveries, alerts fired), or `off`. Default: 127.0.0.1:9465'),
      })
      .strict()
      .default({ group: 'isoscope-alerts', maxAgeMs: 60_000, metricsListen: '127.0.0.1:9465' }),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info').describe('Log level (logs go to stderr). Default: info'),
        format: z
          .enum(['auto', 'json', 'text'])
          .default('auto')
          .describe('Log lines on stderr: json (one JSON object per line, for services and log shippers), text (short lines for people), or auto (text on a terminal, else json). Default: auto'),
      })
      .strict()
      .default({ level: 'info', format: 'auto' }),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
