// vitest global setup: starts one pair of real Kafka and QuestDB for the whole test run, in a fresh
// temporary directory (never the developer's ./.isoscope), and stops it and deletes the directory at the
// end. Tests get the addresses with `inject('services')` (see test/services.ts) or from the state file named
// by $ISOSCOPE_TEST_SERVICES. With $ISOSCOPE_TEST_SERVICES_STATE_DIR set, the services already running
// there are used instead and left running, for fast local iteration.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { servicesStatus, startServices, stopServices } from '../services/manager.js';
import { readServicesState, servicesStatePath, type ServicesState } from '../services/state.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServicesState;
  }
}

const progress = (line: string): void => {
  process.stderr.write(`[services] ${line}\n`);
};

/** Uses the services of $ISOSCOPE_TEST_SERVICES_STATE_DIR, after checking that they answer. */
async function reuse(project: TestProject, stateDir: string): Promise<() => Promise<void>> {
  const state = readServicesState(stateDir);
  const report = await servicesStatus(stateDir);
  if (!state || !report.allUp) {
    const down = report.services.filter((s) => !s.up).map((s) => `${s.name} ${s.address}: ${s.reason ?? 'down'}`);
    throw new Error(
      `ISOSCOPE_TEST_SERVICES_STATE_DIR=${stateDir}, but ${state ? `not all services there are up (${down.join('; ')})` : `${report.stateFile} does not exist`}; ` +
        `run \`isoscope services start --state-dir ${stateDir}\` or unset the variable`,
    );
  }
  progress(`using the running services of ${stateDir} (ISOSCOPE_TEST_SERVICES_STATE_DIR); they stay running`);
  project.provide('services', state);
  process.env.ISOSCOPE_TEST_SERVICES = servicesStatePath(stateDir);
  return async () => {};
}

/**
 * Starts the services for this run and provides their {@link ServicesState} as `services`; returns the
 * teardown that stops them and removes their temporary directory.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuseDir = process.env.ISOSCOPE_TEST_SERVICES_STATE_DIR;
  if (reuseDir) return reuse(project, reuseDir);

  const stateDir = await mkdtemp(join(tmpdir(), 'isoscope-test-services-'));
  const removeDir = (): Promise<void> => rm(stateDir, { recursive: true, force: true });
  let state: ServicesState;
  try {
    ({ state } = await startServices({ stateDir, log: progress }));
  } catch (err) {
    await removeDir(); // startServices already stopped whatever it had started
    throw err;
  }
  project.provide('services', state);
  process.env.ISOSCOPE_TEST_SERVICES = servicesStatePath(stateDir);
  // If vitest exits without running the teardown (interrupted), do not leave JVMs behind.
  const killOnExit = (): void => {
    for (const pid of [state.kafka.pid, state.questdb.pid]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  return async () => {
    process.off('exit', killOnExit);
    try {
      await stopServices(stateDir, { purge: true });
    } finally {
      await removeDir();
      delete process.env.ISOSCOPE_TEST_SERVICES;
    }
  };
}
