/**
 * Cancel requests between processes: `isoscope cancel RUN` leaves `<stateDir>/orchestrator/cancel/<run>`,
 * which the orchestrator running that run notices within a poll interval; it then stops the workload,
 * tears the partitions down and records `abort`.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const dir = (stateDir: string) => join(stateDir, 'orchestrator', 'cancel');

export function requestCancel(stateDir: string, run: string): string {
  if (!RUN_ID.test(run)) throw new Error(`"${run}" is not a run id (letters, digits, ".", "_", "-")`);
  mkdirSync(dir(stateDir), { recursive: true });
  const file = join(dir(stateDir), run);
  writeFileSync(file, new Date().toISOString() + '\n');
  return file;
}

export function cancelRequested(stateDir: string, run: string): boolean {
  return existsSync(join(dir(stateDir), run));
}

export function clearCancel(stateDir: string, run: string): void {
  rmSync(join(dir(stateDir), run), { force: true });
}
