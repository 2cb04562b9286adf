/**
 * The directory lock of the embedded bus: one process at a time may open a bus directory. The
 * lock file holds the owner's pid (and, on Linux, its start time, so a recycled pid is not taken
 * for the owner). A lock whose owner is gone is stale and is taken over.
 */
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './fs-util.js';

export const LOCK_FILE = 'LOCK';

interface LockContent {
  pid: number;
  /** Process start time in clock ticks since boot (Linux), or null where unknown. */
  start: number | null;
}

/** Directories locked by this process, so a second bus on the same directory is refused too. */
const heldHere = new Set<string>();

/** Start time of a process from /proc, or null (not Linux, or no such process). */
function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockContent): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.start === null) return true;
  const start = processStart(owner.pid);
  return start === null || start === owner.start;
}

async function readOwner(path: string): Promise<LockContent | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockContent>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, start: typeof parsed.start === 'number' ? parsed.start : null } : null;
  } catch {
    return null; // missing, or torn by a crash while it was written: nobody holds it
  }
}

/**
 * Takes the lock of `dir`, or throws saying which process holds it. Taking over a stale lock is
 * not atomic against a second process doing the same at the same instant; that race needs two
 * processes started together on one directory after a crash, and is accepted.
 */
export async function acquireDirLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(path)) {
    throw new Error(`the embedded bus directory ${dir} is already open in this process (pid ${process.pid}); use one EmbeddedBus per directory`);
  }
  const mine: LockContent = { pid: process.pid, start: processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(mine));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsyncDir(dir);
      heldHere.add(path);
      return async () => {
        heldHere.delete(path);
        const owner = await readOwner(path);
        if (owner?.pid === mine.pid && owner.start === mine.start) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(path);
    // Our own pid in a lock we do not hold here is a leftover from a previous run (pid reuse in containers).
    if (owner && owner.pid !== process.pid && isAlive(owner)) {
      throw new Error(`the embedded bus directory ${dir} is in use by process ${owner.pid} (lock file ${path}); stop that process or give this one another directory`);
    }
    await rm(path, { force: true }); // stale: its owner is gone
  }
  throw new Error(`could not take the lock ${path} of the embedded bus after 3 attempts: another process keeps taking it`);
}
