/**
 * `<stateDir>/up.json`: tells other isoscope commands that `isoscope up` is running and where its
 * query service listens. DuckDB lets one process open a database file for writing, so `isoscope sql`
 * asks the running process instead of opening the file itself.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const upStateSchema = z.object({ pid: z.number().int(), url: z.string(), dataDir: z.string(), startedAt: z.string() }).strict();
export type UpState = z.infer<typeof upStateSchema>;

const file = (stateDir: string) => join(stateDir, 'up.json');

export function writeUpState(stateDir: string, state: UpState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file(stateDir), JSON.stringify(state, null, 2) + '\n');
}

/** The running `up` process, or null when there is none (a file left by a dead process is ignored). */
export function readUpState(stateDir: string): UpState | null {
  if (!existsSync(file(stateDir))) return null;
  const parsed = upStateSchema.safeParse(JSON.parse(readFileSync(file(stateDir), 'utf8')));
  if (!parsed.success) return null;
  try {
    process.kill(parsed.data.pid, 0);
    return parsed.data;
  } catch {
    return null;
  }
}

export function removeUpState(stateDir: string, pid = process.pid): void {
  const current = existsSync(file(stateDir)) ? (JSON.parse(readFileSync(file(stateDir), 'utf8')) as { pid?: number }) : null;
  if (current?.pid === pid) rmSync(file(stateDir), { force: true });
}
