/**
 * Environment overrides: every configuration field has a variable named after its path,
 * `ISOSCOPE_` + the path in UPPER_SNAKE case joined by `_`, e.g. `kafka.brokers` →
 * `ISOSCOPE_KAFKA_BROKERS` (lists comma-separated), `collector.intervalMs` →
 * `ISOSCOPE_COLLECTOR_INTERVAL_MS`; fields that take one of several shapes are JSON, e.g.
 * `ISOSCOPE_COLLECTOR_PERF_SCOPE='{"kind":"cgroup","paths":["isoscope/p1"]}'`. The names are derived from the schema, so a new field gets its
 * variable without anyone remembering to add it.
 *
 * Every variable also has a `_FILE` form naming a file that holds the value (one trailing newline
 * removed), e.g. `ISOSCOPE_QUERY_TOKEN_FILE=/run/secrets/query_token`: Docker secrets and systemd
 * credentials arrive as files, and a secret in a file stays out of `docker inspect` and `/proc/PID/environ`.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { configSchema } from './schema.js';

export interface EnvField {
  path: string[];
  variable: string;
  type: 'string' | 'number' | 'boolean' | 'list' | 'json';
  description: string;
}

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType };

function defOf(t: z.ZodType): Def {
  return (t as unknown as { def: Def }).def;
}

/** The first description found on the field or its wrappers (default, optional). */
function describe(t: z.ZodType): string {
  let cur: z.ZodType | undefined = t;
  while (cur) {
    if (cur.description) return cur.description;
    cur = defOf(cur).innerType;
  }
  return '';
}

function unwrap(t: z.ZodType): Def {
  let d = defOf(t);
  while ((d.type === 'default' || d.type === 'optional' || d.type === 'nullable') && d.innerType) d = defOf(d.innerType);
  return d;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Every leaf field of the configuration with its environment variable. */
export function envFields(schema: z.ZodType = configSchema, path: string[] = [], inherited = ''): EnvField[] {
  const d = unwrap(schema);
  if (d.type === 'object' && d.shape) {
    const parent = describe(schema);
    return Object.entries(d.shape).flatMap(([k, v]) => envFields(v, [...path, k], parent ? `${parent.replace(/\.$/, '')}: \`${k}\`.` : inherited));
  }
  const type = d.type === 'number' ? 'number' : d.type === 'boolean' ? 'boolean' : d.type === 'array' ? 'list' : d.type === 'union' ? 'json' : 'string';
  return [{ path, variable: `ISOSCOPE_${path.map(snake).join('_')}`, type, description: describe(schema) || inherited }];
}

/**
 * Reads the variables that are set into a partial config object. Values are converted by the
 * field's type; a value that does not convert is left as the string so validation names it.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): { values: Record<string, unknown>; set: string[] } {
  const values: Record<string, unknown> = {};
  const set: string[] = [];
  for (const f of envFields()) {
    const raw = valueOf(env, f.variable);
    if (raw === undefined || raw === '') continue;
    set.push(f.variable);
    let v: unknown = raw;
    if (f.type === 'number' && /^-?\d+(\.\d+)?$/.test(raw.trim())) v = Number(raw);
    else if (f.type === 'boolean' && /^(true|false|1|0)$/i.test(raw.trim())) v = /^(true|1)$/i.test(raw.trim());
    else if (f.type === 'list') v = raw.split(',').map((s) => s.trim()).filter(Boolean);
    else if (f.type === 'json') {
      try {
        v = JSON.parse(raw);
      } catch {
        v = raw; // validation then names the variable and what was expected
      }
    }
    let node = values;
    f.path.slice(0, -1).forEach((p) => (node = (node[p] ??= {}) as Record<string, unknown>));
    node[f.path[f.path.length - 1]!] = v;
  }
  return { values, set };
}

/** The variable's value, or the content of the file its `_FILE` form names. */
function valueOf(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const file = env[`${variable}_FILE`];
  if (file === undefined || file === '') return env[variable];
  if (env[variable] !== undefined && env[variable] !== '') {
    throw new ConfigError(`invalid configuration:\n  environment variables ${variable} and ${variable}_FILE are both set; set one of them`);
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  environment variable ${variable}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
