// The state file `<stateDir>/services.json`: where the running Kafka and QuestDB listen, how to log in, and
// which pids to stop. `isoscope services` writes it; tests, the CLI and other tools read it to find the
// services, so its field names are a contract. It is validated on read so a damaged file fails clearly.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const address = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'expected "host:port"');
const pid = z.number().int().positive();

const servicesStateSchema = z.object({
  version: z.literal(1),
  startedAt: z.iso.datetime({ offset: true }),
  kafka: z.object({
    brokers: z.array(address).min(1),
    pid,
    logFile: z.string().min(1),
    dataDir: z.string().min(1),
  }),
  questdb: z.object({
    http: address,
    pg: address,
    ilpTcp: address,
    user: z.string().min(1),
    password: z.string(),
    readonlyUser: z.string().min(1),
    readonlyPassword: z.string(),
    pid,
    logFile: z.string().min(1),
    dataDir: z.string().min(1),
  }),
});

/**
 * Contents of `services.json`: addresses are `"127.0.0.1:port"`, paths are absolute.
 * @example { version: 1, startedAt: '2025-01-01T00:00:00.000Z', kafka: { brokers: ['127.0.0.1:39092'], … }, questdb: { http: '127.0.0.1:39000', … } }
 */
export type ServicesState = z.infer<typeof servicesStateSchema>;

/** Default state directory: `./.isoscope` under the current working directory. */
export const DEFAULT_STATE_DIR = '.isoscope';

/**
 * Absolute form of `stateDir`, symlinks resolved when it exists: the service JVMs carry it as an identity
 * marker, so every command must spell one directory the same way.
 */
export function resolveStateDir(stateDir: string): string {
  const abs = resolve(stateDir);
  return existsSync(abs) ? realpathSync(abs) : abs;
}

/** Path of the state file in `stateDir`. */
export function servicesStatePath(stateDir: string): string {
  return resolve(stateDir, 'services.json');
}

/**
 * Checks parsed JSON against the state file's schema; throws an error naming `file` and every bad field.
 * @example parseServicesState(JSON.parse(text), '/tmp/x/services.json')
 */
export function parseServicesState(data: unknown, file: string): ServicesState {
  const result = servicesStateSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
  throw new Error(
    `${file} is not a valid isoscope services state file (${problems}); ` +
      'stop the services with `isoscope services stop` or delete the file',
  );
}

/**
 * Reads `<stateDir>/services.json`: `null` if it does not exist, the validated state otherwise; throws an
 * error naming the file if it is not JSON or does not match {@link ServicesState}.
 */
export function readServicesState(stateDir: string): ServicesState | null {
  const file = servicesStatePath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${file} is not valid JSON (${(err as Error).message}); stop the services with \`isoscope services stop\` or delete the file`,
    );
  }
  return parseServicesState(data, file);
}

/** Writes the state file atomically (temporary file + rename), creating `stateDir` if needed. */
export async function writeServicesState(stateDir: string, state: ServicesState): Promise<string> {
  const file = servicesStatePath(stateDir);
  await mkdir(resolve(stateDir), { recursive: true });
  const tmp = join(resolve(stateDir), `.services.json.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(parseServicesState(state, file), null, 2)}\n`);
  await rename(tmp, file);
  return file;
}

/** Removes the state file if it exists. */
export async function removeServicesState(stateDir: string): Promise<void> {
  await rm(servicesStatePath(stateDir), { force: true });
}
