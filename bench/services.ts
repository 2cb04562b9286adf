/** Kafka + QuestDB for a benchmark: its own pair in a temporary directory, or those of --state-dir DIR / $ISOSCOPE_BENCH_STATE_DIR. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServices, stopServices } from '../services/manager.js';
import { readServicesState, type ServicesState } from '../services/state.js';

export const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

export async function benchServices(): Promise<{ state: ServicesState; stop: () => Promise<void> }> {
  const given = arg('--state-dir') ?? process.env.ISOSCOPE_BENCH_STATE_DIR;
  if (given) {
    const state = readServicesState(given);
    if (!state) throw new Error(`no services.json in ${given}: run \`isoscope services start --state-dir ${given}\``);
    return { state, stop: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'isoscope-bench-'));
  const { state } = await startServices({ stateDir: dir, log: (l) => process.stderr.write(`[services] ${l}\n`) });
  return { state, stop: async () => { await stopServices(dir, { purge: true }); await rm(dir, { recursive: true, force: true }); } };
}
