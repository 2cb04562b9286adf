/**
 * Loads the configuration: defaults ← YAML file ← environment variables, validated once with zod.
 * Then resolves what the commands actually talk to: the bus and store kinds (`auto` picks Kafka and
 * QuestDB when they are configured or when `isoscope services` is running) and their addresses
 * (explicit settings win; otherwise the running services from `<stateDir>/services.json`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { readServicesState, type ServicesState } from '../services/state.js';
import { configFromEnv, envFields } from './env.js';
import { configSchema, type Config } from './schema.js';
import { ConfigError } from './errors.js';

/** The configuration plus everything derived from it that commands need. */
export interface ResolvedConfig extends Config {
  /** The file read, if any. */
  file: string | null;
  busKind: 'kafka' | 'embedded';
  storeKind: 'questdb' | 'duckdb';
  kafkaBrokers: string[];
  questdbHttp: string;
  questdbPg: string;
  questdbReadonlyUser: string;
  questdbReadonlyPassword: string;
  /** The running development services, when `services.json` was found. */
  services: ServicesState | null;
}

export interface LoadOptions {
  /** Explicit config file (--config); otherwise $ISOSCOPE_CONFIG, else ./isoscope.yaml if present. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Command-line overrides, applied last. */
  overrides?: { bus?: 'auto' | 'embedded' | 'kafka'; store?: 'auto' | 'duckdb' | 'questdb' };
}

export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = pickFile(options.file ?? env.ISOSCOPE_CONFIG, cwd);
  const fromFile = file ? readYaml(file) : {};
  const fromEnv = configFromEnv(env);
  const merged = deepMerge(fromFile, fromEnv.values);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      const field = envFields().find((f) => f.path.every((p, k) => p === i.path[k]));
      const envVar = field && fromEnv.set.includes(field.variable) ? field.variable : null;
      const where = envVar ? `environment variable ${envVar}${i.path.length > field!.path.length ? ` (${path})` : ''}` : file ? `${file}: ${path || '(top level)'}` : path || '(top level)';
      return `${where}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  if (options.overrides?.bus) config.bus = options.overrides.bus;
  if (options.overrides?.store) config.store = options.overrides.store;
  config.dataDir = resolve(cwd, config.dataDir);
  config.stateDir = resolve(cwd, config.stateDir);
  return resolveTargets(config, file, readServicesState(config.stateDir));
}

function resolveTargets(config: Config, file: string | null, services: ServicesState | null): ResolvedConfig {
  const kafkaBrokers = config.kafka.brokers ?? services?.kafka.brokers ?? ['127.0.0.1:9092'];
  const questdbHttp = config.questdb.http ?? services?.questdb.http ?? '127.0.0.1:9000';
  const questdbPg = config.questdb.pg ?? services?.questdb.pg ?? '127.0.0.1:8812';
  const kafkaKnown = Boolean(config.kafka.brokers ?? services);
  const questdbKnown = Boolean(config.questdb.http ?? config.questdb.pg ?? services);
  return {
    ...config,
    file,
    busKind: config.bus === 'auto' ? (kafkaKnown ? 'kafka' : 'embedded') : config.bus,
    storeKind: config.store === 'auto' ? (questdbKnown ? 'questdb' : 'duckdb') : config.store,
    kafkaBrokers,
    questdbHttp,
    questdbPg,
    questdbReadonlyUser: config.questdb.readonlyUser ?? services?.questdb.readonlyUser ?? config.questdb.user,
    questdbReadonlyPassword: config.questdb.readonlyPassword ?? services?.questdb.readonlyPassword ?? config.questdb.password,
    services,
  };
}

function pickFile(explicit: string | undefined, cwd: string): string | null {
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
    return path;
  }
  const local = resolve(cwd, 'isoscope.yaml');
  return existsSync(local) ? local : null;
}

function readYaml(file: string): Record<string, unknown> {
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError(`${file}${at}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${file}: expected a mapping of settings at the top level`);
  return value as Record<string, unknown>;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
