/**
 * Right after `npm install` the BPF objects do not exist yet (build/ is not shipped): the ebpf source
 * builds the shipped programs on first use with collectors/ebpf/build.sh (about 2 s), or fails saying
 * exactly what is missing (clang, bpftool, libbpf headers, kernel BTF). A program that is not shipped
 * is named as unknown, with the known ones.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UsageError, UserError } from '../../core/errors.js';
import { componentLogger } from '../../core/logger.js';
import { packageRoot } from './locate.js';

const run = promisify(execFile);

/** Programs that have a metric config in `configDir` (`<name>.yaml`), sorted. */
export function knownPrograms(configDir: string): string[] {
  if (!existsSync(configDir)) return [];
  return readdirSync(configDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

/** Throws a usage error naming the first program without a metric config, and the known ones. */
export function assertKnownPrograms(programs: readonly string[], configDir: string): void {
  const known = knownPrograms(configDir);
  const unknown = programs.filter((p) => !known.includes(p));
  if (unknown.length === 0) return;
  throw new UsageError(
    `unknown eBPF program${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `"${p}"`).join(', ')}: the known programs are ${known.join(', ') || '(none)'} (each has <name>.yaml in ${configDir})`,
  );
}

/**
 * Builds the shipped programs into the package's build folder when any of `programs` has no object
 * there; throws a UserError with build.sh's own explanation when that is not possible here.
 */
export async function buildShippedPrograms(programs: readonly string[], objectDir: string): Promise<void> {
  const missing = programs.filter((p) => !existsSync(join(objectDir, `${p}.bpf.o`)));
  if (missing.length === 0) return;
  const script = join(packageRoot(), 'collectors', 'ebpf', 'build.sh');
  componentLogger('ebpf').info({ missing }, `Building the eBPF programs on first use (${missing.join(', ')} not built yet) with ${script}.`);
  try {
    await run(script, [], { timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const why = (e.stderr ?? '').trim().split('\n').filter(Boolean).pop()?.replace(/^.*build\.sh: /, '') ?? e.message;
    throw new UserError(`the eBPF program${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not built, and building ${missing.length > 1 ? 'them' : 'it'} here failed: ${why} (then run ${script}, or npm run build:ebpf)`);
  }
}
